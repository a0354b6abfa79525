//! Files attached to tickets: documents, photos, call recordings.
//!
//! The bytes live in the object store (a directory on a single box, S3 or a compatible store
//! in the distributed mode) under `tenants/{tenant}/tickets/{ticket}/{attachment}`; the ops
//! database keeps what they are: name, media type, size and SHA-256. Uploads stream into a
//! multipart upload and are refused the moment they pass the size limit, so memory stays
//! bounded whatever the file; downloads stream back out. The database row, the ticket's
//! history entry and the `ticket.attachment_added` event are written in one transaction once
//! the file is stored; a file whose row could not be written is deleted again.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::{Stream, StreamExt as _};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt as _, WriteMultipart};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use tenet_events::identity::Principal;
use tenet_events::ids::{AgentId, AttachmentId, ProjectId, TicketId};
use tenet_events::tickets::{Author, TicketAttachmentAdded};
use tenet_events::{Actor, Envelope, OccurredAt, TraceContext};
use url::Url;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{BeginWrite, Database, now, principal_json};
use crate::outbox::OutboxRecord;
use crate::tickets::Ticket;
use crate::{enqueue, on_backend};

/// The longest file name kept.
pub const MAX_FILENAME: usize = 255;
/// The longest media type accepted.
pub const MAX_CONTENT_TYPE: usize = 127;

/// Where attachments are stored, and how large one may be.
#[derive(Clone)]
pub struct AttachmentStore {
    store: Arc<dyn ObjectStore>,
    max_bytes: u64,
}

impl std::fmt::Debug for AttachmentStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachmentStore")
            .field("store", &self.store.to_string())
            .field("max_bytes", &self.max_bytes)
            .finish()
    }
}

/// What goes wrong when opening the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A local directory could not be created.
    #[error("cannot create the attachments directory {path}: {source}")]
    Directory {
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The URL names no store this build supports, or its options are wrong.
    #[error("attachments store {url}: {source}")]
    Store {
        /// The store's URL.
        url: String,
        /// Why.
        #[source]
        source: object_store::Error,
    },
}

impl AttachmentStore {
    /// Opens the store at `url`: `file:///dir` (created when missing), or `s3://bucket/prefix`
    /// configured from the `AWS_*` environment variables (endpoint, region, credentials).
    ///
    /// # Errors
    /// [`StoreError`] when the directory cannot be created or the URL is not a store.
    pub fn open(url: &Url, max_bytes: u64) -> Result<Self, StoreError> {
        let store: Arc<dyn ObjectStore> = if url.scheme() == "file" {
            let path = url.to_file_path().map_err(|()| StoreError::Store {
                url: url.to_string(),
                source: object_store::Error::Generic {
                    store: "file",
                    source: "not a local path".into(),
                },
            })?;
            std::fs::create_dir_all(&path).map_err(|source| StoreError::Directory {
                path: path.clone(),
                source,
            })?;
            let local =
                LocalFileSystem::new_with_prefix(&path).map_err(|source| StoreError::Store {
                    url: url.to_string(),
                    source,
                })?;
            Arc::new(local)
        } else {
            let options = std::env::vars().filter(|(key, _)| key.starts_with("AWS_"));
            let (store, prefix) =
                object_store::parse_url_opts(url, options).map_err(|source| StoreError::Store {
                    url: url.to_string(),
                    source,
                })?;
            Arc::new(PrefixStore::new(store, prefix))
        };
        Ok(Self { store, max_bytes })
    }

    /// The largest file accepted, in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Checks that the store answers: a missing object is an answer.
    ///
    /// # Errors
    /// The store's error when it cannot be reached.
    pub async fn ping(&self) -> Result<(), object_store::Error> {
        match self.store.head(&Path::from("health/ping")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }
}

/// A file attached to a ticket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Attachment {
    /// Its id.
    pub id: Uuid,
    /// The ticket.
    pub ticket_id: Uuid,
    /// Its file name, as uploaded.
    pub filename: String,
    /// Its media type.
    pub content_type: String,
    /// Its size in bytes.
    pub size_bytes: i64,
    /// The SHA-256 of its bytes, in hex; also its download's `ETag`.
    pub sha256: String,
    /// Whether the customer can see it.
    pub public: bool,
    /// Who attached it.
    #[schema(value_type = crate::openapi::PrincipalSchema)]
    pub uploaded_by: Principal,
    /// When.
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct AttachmentRow {
    id: Uuid,
    ticket_id: Uuid,
    filename: String,
    content_type: String,
    size_bytes: i64,
    sha256: String,
    public: bool,
    uploaded_by: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<AttachmentRow> for Attachment {
    type Error = sqlx::Error;

    fn try_from(row: AttachmentRow) -> Result<Self, Self::Error> {
        Ok(Attachment {
            id: row.id,
            ticket_id: row.ticket_id,
            filename: row.filename,
            content_type: row.content_type,
            size_bytes: row.size_bytes,
            sha256: row.sha256,
            public: row.public,
            uploaded_by: serde_json::from_str(&row.uploaded_by).map_err(|error| {
                sqlx::Error::ColumnDecode {
                    index: "uploaded_by".into(),
                    source: Box::new(error),
                }
            })?,
            created_at: row.created_at,
        })
    }
}

const COLUMNS: &str =
    "id, ticket_id, filename, content_type, size_bytes, sha256, public, uploaded_by, created_at";

/// What an upload is.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    /// Its file name, already checked.
    pub filename: String,
    /// Its media type, already checked.
    pub content_type: String,
    /// Whether the customer sees it.
    pub public: bool,
}

/// What goes wrong with an attachment.
#[derive(Debug, thiserror::Error)]
pub enum AttachmentError {
    /// The file is larger than the store accepts.
    #[error("the file is larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: u64,
    },
    /// The file is empty.
    #[error("the file is empty")]
    Empty,
    /// The client's body broke off or could not be read.
    #[error("the upload broke off: {0}")]
    Body(String),
    /// The object store failed.
    #[error("the attachments store failed: {0}")]
    Store(#[from] object_store::Error),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn object_path(tenant: Uuid, ticket: Uuid, attachment: Uuid) -> Path {
    Path::from(format!("tenants/{tenant}/tickets/{ticket}/{attachment}"))
}

/// Streams `body` into the store and records it as an attachment of `ticket`.
///
/// `body` says itself why it fails: [`AttachmentError::TooLarge`] when a limit in front of
/// the handler cut it, [`AttachmentError::Body`] otherwise.
///
/// # Errors
/// [`AttachmentError::TooLarge`] past the store's limit, [`AttachmentError::Empty`],
/// [`AttachmentError::Body`] when the client's body fails, store and database errors.
pub async fn upload<S>(
    db: &Database,
    store: &AttachmentStore,
    actor: &Actor,
    trace: Option<&TraceContext>,
    ticket: &Ticket,
    new: NewAttachment,
    body: S,
) -> Result<Attachment, AttachmentError>
where
    S: Stream<Item = Result<Bytes, AttachmentError>> + Unpin,
{
    let id = Uuid::now_v7();
    let tenant = actor.tenant_id.as_uuid();
    let path = object_path(tenant, ticket.id, id);
    let mut upload = WriteMultipart::new(store.store.put_multipart(&path).await?);
    let streamed = stream_into(&mut upload, body, store.max_bytes).await;
    let (size, digest) = match streamed {
        Ok(done) => done,
        Err(error) => {
            // Nothing of a refused upload stays behind.
            if let Err(abort) = upload.abort().await {
                tracing::warn!(error = %abort, "could not abort a refused attachment upload");
            }
            return Err(error);
        }
    };
    upload.finish().await?;
    let attachment = Attachment {
        id,
        ticket_id: ticket.id,
        filename: new.filename,
        content_type: new.content_type,
        size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
        sha256: digest,
        public: new.public,
        uploaded_by: actor.principal.clone(),
        created_at: now(),
    };
    match record(db, actor, trace, ticket, &attachment).await {
        Ok(()) => Ok(attachment),
        Err(error) => {
            if let Err(delete) = store.store.delete(&path).await {
                tracing::warn!(error = %delete, %path, "could not delete an unrecorded attachment");
            }
            Err(error.into())
        }
    }
}

async fn stream_into<S>(
    upload: &mut WriteMultipart,
    mut body: S,
    max: u64,
) -> Result<(u64, String), AttachmentError>
where
    S: Stream<Item = Result<Bytes, AttachmentError>> + Unpin,
{
    let mut size = 0u64;
    let mut hash = Sha256::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        size += chunk.len() as u64;
        if size > max {
            return Err(AttachmentError::TooLarge { max });
        }
        hash.update(&chunk);
        upload.wait_for_capacity(4).await?;
        upload.put(chunk);
    }
    if size == 0 {
        return Err(AttachmentError::Empty);
    }
    let digest = hash.finalize();
    Ok((
        size,
        digest.iter().map(|byte| format!("{byte:02x}")).collect(),
    ))
}

async fn record(
    db: &Database,
    actor: &Actor,
    trace: Option<&TraceContext>,
    ticket: &Ticket,
    attachment: &Attachment,
) -> Result<(), sqlx::Error> {
    let author = match actor.principal {
        Principal::User(id) => AgentId::parse(id.to_string()).map_or(Author::System, Author::Agent),
        Principal::ApiToken(_) | Principal::System => Author::System,
    };
    let envelope = Envelope::new(
        actor.tenant_id,
        OccurredAt::from_datetime(attachment.created_at).unwrap_or_else(|_| OccurredAt::now()),
        TicketAttachmentAdded {
            ticket_id: TicketId::parse(ticket.id.to_string()).expect("a UUID is a valid ticket id"),
            attachment_id: AttachmentId::parse(attachment.id.to_string())
                .expect("a UUID is a valid attachment id"),
            author,
            public: attachment.public,
            content_type: attachment.content_type.clone(),
            size_bytes: u64::try_from(attachment.size_bytes).unwrap_or_default(),
            project_id: ProjectId::parse(ticket.project_id.to_string()).ok(),
        },
    );
    let outbox = OutboxRecord::new(&envelope, trace);
    let tenant = actor.tenant_id.as_uuid();
    let uploaded_by = principal_json(actor);
    on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "insert into ticket_attachments (id, tenant_id, ticket_id, filename, content_type, \
             size_bytes, sha256, public, uploaded_by, created_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(attachment.id)
        .bind(tenant)
        .bind(ticket.id)
        .bind(&attachment.filename)
        .bind(&attachment.content_type)
        .bind(attachment.size_bytes)
        .bind(&attachment.sha256)
        .bind(attachment.public)
        .bind(&uploaded_by)
        .bind(attachment.created_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "insert into ticket_history (id, tenant_id, ticket_id, actor, field, old_value, new_value, at) \
             values ($1, $2, $3, $4, 'attachment', null, $5, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(tenant)
        .bind(ticket.id)
        .bind(&uploaded_by)
        .bind(&attachment.filename)
        .bind(attachment.created_at)
        .execute(&mut *tx)
        .await?;
        enqueue!(&mut *tx, &outbox)?;
        tx.commit().await?;
    });
    Ok(())
}

/// The attachments of `ticket`, oldest first; only the public ones unless `internal`.
///
/// # Errors
/// Database errors.
pub async fn list(
    db: &Database,
    actor: &Actor,
    ticket: Uuid,
    internal: bool,
) -> Result<Vec<Attachment>, sqlx::Error> {
    let rows: Vec<AttachmentRow> = on_backend!(db, |pool| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from ticket_attachments \
             where tenant_id = $1 and ticket_id = $2 and ($3 or public) order by id"
        ))
        .bind(actor.tenant_id.as_uuid())
        .bind(ticket)
        .bind(internal)
        .fetch_all(pool)
        .await?
    });
    rows.into_iter().map(Attachment::try_from).collect()
}

/// The attachment `id` of `ticket`, if there is one the caller may see.
///
/// # Errors
/// Database errors.
pub async fn get(
    db: &Database,
    actor: &Actor,
    ticket: Uuid,
    id: Uuid,
    internal: bool,
) -> Result<Option<Attachment>, sqlx::Error> {
    let row: Option<AttachmentRow> = on_backend!(db, |pool| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from ticket_attachments \
             where tenant_id = $1 and ticket_id = $2 and id = $3 and ($4 or public)"
        ))
        .bind(actor.tenant_id.as_uuid())
        .bind(ticket)
        .bind(id)
        .bind(internal)
        .fetch_optional(pool)
        .await?
    });
    row.map(Attachment::try_from).transpose()
}

/// The bytes of `attachment`, as a stream.
///
/// # Errors
/// The store's error when the object cannot be read.
pub async fn content(
    store: &AttachmentStore,
    actor: &Actor,
    attachment: &Attachment,
) -> Result<BoxStream<'static, Result<Bytes, object_store::Error>>, object_store::Error> {
    let path = object_path(
        actor.tenant_id.as_uuid(),
        attachment.ticket_id,
        attachment.id,
    );
    Ok(store.store.get(&path).await?.into_stream())
}

/// Checks an uploaded file's name: 1 to 255 characters, no path separators or control
/// characters, not `.` or `..`.
///
/// # Errors
/// What is wrong with it.
pub fn check_filename(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_FILENAME {
        return Err(format!("a file name has 1 to {MAX_FILENAME} characters"));
    }
    if name.contains(['/', '\\'])
        || name.chars().any(char::is_control)
        || name == "."
        || name == ".."
    {
        return Err("a file name has no path separators or control characters".into());
    }
    Ok(name.to_owned())
}

/// Checks a media type: `type/subtype` in the token characters of RFC 9110, parameters
/// dropped, lower-cased.
///
/// # Errors
/// What is wrong with it.
pub fn check_content_type(value: &str) -> Result<String, String> {
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let token = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
    };
    match essence.split_once('/') {
        Some((kind, subtype))
            if token(kind) && token(subtype) && essence.len() <= MAX_CONTENT_TYPE =>
        {
            Ok(essence)
        }
        _ => Err("the Content-Type must be a media type such as application/pdf".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_their_words_and_lose_their_paths() {
        assert_eq!(
            check_filename("  Договор №5.pdf "),
            Ok("Договор №5.pdf".into())
        );
        for bad in [
            "",
            "   ",
            "../etc/passwd",
            "a\\b",
            "..",
            "line\nbreak",
            &"x".repeat(256),
        ] {
            assert!(check_filename(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn media_types_are_reduced_to_their_essence() {
        assert_eq!(check_content_type("Audio/WAV"), Ok("audio/wav".into()));
        assert_eq!(
            check_content_type("text/plain; charset=utf-8"),
            Ok("text/plain".into())
        );
        for bad in ["", "pdf", "text/", "/plain", "text/pl ain", "a/b/c"] {
            assert!(check_content_type(bad).is_err(), "{bad:?}");
        }
    }
}
