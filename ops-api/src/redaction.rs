//! Redaction of a ticket's history and comments: a project manager erases what should not have
//! been written down (a card number in a comment, a diagnosis in a field), keeping the fact
//! that something was there, who redacted it, when and why; the audit log records each
//! redaction in the same transaction.

use chrono::{DateTime, Utc};
use tenet_events::Actor;
use uuid::Uuid;

use crate::audit::Subject;
use crate::db::{BeginWrite, Database};
use crate::on_backend;

/// What goes wrong with a redaction.
#[derive(Debug, thiserror::Error)]
pub enum RedactionError {
    /// No such entry or comment on the ticket.
    #[error("no such {0} on this ticket")]
    NotFound(&'static str),
    /// It was redacted already.
    #[error("the {0} was redacted already")]
    AlreadyRedacted(&'static str),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What can be redacted, and how.
struct Redactable {
    subject: Subject,
    noun: &'static str,
    /// Erases the record: binds the time, the principal, the reason, the tenant, the ticket
    /// and the record's id.
    erase: &'static str,
    /// Whether the record exists and whether it is redacted, as counts (0 or 1): binds the
    /// tenant, the ticket and the record's id.
    state: &'static str,
}

const HISTORY_ENTRY: Redactable = Redactable {
    subject: Subject::TicketHistory,
    noun: "history entry",
    erase: "update ticket_history set old_value = null, new_value = null, redacted_at = $1, \
            redacted_by = $2, redaction_reason = $3 \
            where tenant_id = $4 and ticket_id = $5 and id = $6 and redacted_at is null",
    state: "select count(*), count(redacted_at) from ticket_history \
            where tenant_id = $1 and ticket_id = $2 and id = $3",
};

const COMMENT: Redactable = Redactable {
    subject: Subject::TicketComment,
    noun: "comment",
    erase: "update ticket_comments set body = '', redacted_at = $1, redacted_by = $2, \
            redaction_reason = $3 \
            where tenant_id = $4 and ticket_id = $5 and id = $6 and redacted_at is null",
    state: "select count(*), count(redacted_at) from ticket_comments \
            where tenant_id = $1 and ticket_id = $2 and id = $3",
};

/// Erases the old and new values of history entry `entry` of `ticket`, for `reason`; returns
/// when.
///
/// # Errors
/// [`RedactionError::NotFound`], [`RedactionError::AlreadyRedacted`]; database errors.
pub async fn history_entry(
    db: &Database,
    actor: &Actor,
    ticket: Uuid,
    entry: Uuid,
    reason: &str,
) -> Result<DateTime<Utc>, RedactionError> {
    redact(db, actor, &HISTORY_ENTRY, ticket, entry, reason).await
}

/// Erases the text of comment `comment` of `ticket`, for `reason`; returns when.
///
/// # Errors
/// [`RedactionError::NotFound`], [`RedactionError::AlreadyRedacted`]; database errors.
pub async fn comment(
    db: &Database,
    actor: &Actor,
    ticket: Uuid,
    comment: Uuid,
    reason: &str,
) -> Result<DateTime<Utc>, RedactionError> {
    redact(db, actor, &COMMENT, ticket, comment, reason).await
}

async fn redact(
    db: &Database,
    actor: &Actor,
    what: &Redactable,
    ticket: Uuid,
    id: Uuid,
    reason: &str,
) -> Result<DateTime<Utc>, RedactionError> {
    let at = crate::db::now();
    let tenant = actor.tenant_id.as_uuid();
    let principal = crate::db::principal_json(actor);
    let erased = on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let erased = sqlx::query(what.erase)
            .bind(at)
            .bind(&principal)
            .bind(reason)
            .bind(tenant)
            .bind(ticket)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if erased {
            crate::audit!(&mut *tx, actor, "redact", what.subject, id, reason, at)?;
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        erased
    });
    if erased {
        return Ok(at);
    }
    let (found, redacted): (i64, i64) = on_backend!(db, |pool| {
        sqlx::query_as(what.state)
            .bind(tenant)
            .bind(ticket)
            .bind(id)
            .fetch_one(pool)
            .await?
    });
    Err(if found > 0 && redacted > 0 {
        RedactionError::AlreadyRedacted(what.noun)
    } else {
        RedactionError::NotFound(what.noun)
    })
}
