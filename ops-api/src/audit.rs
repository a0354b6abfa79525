//! The audit log: who read whose personal data, and who redacted what, when.
//!
//! A handler that answers personal data records the read before it answers, so that an answer
//! the log does not know of is never sent: if the log cannot be written, the read fails. A
//! redaction writes its entry in the transaction that erases the text ([`audit!`]). Admins
//! read the log through `GET /api/v1/audit`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tenet_events::Actor;
use tenet_events::identity::Principal;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{BeginWrite, Database};
use crate::on_backend;

/// What kind of record was read or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A customer's profile and identities.
    Customer,
    /// An entry of a ticket's history.
    TicketHistory,
    /// A comment on a ticket.
    TicketComment,
    /// An employee's personal data.
    Employee,
}

impl Subject {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Subject::Customer => "customer",
            Subject::TicketHistory => "ticket_history",
            Subject::TicketComment => "ticket_comment",
            Subject::Employee => "employee",
        }
    }
}

/// Appends an audit entry inside a running transaction:
/// `audit!(executor, actor, action, subject, subject_id, detail, at)`.
#[macro_export]
macro_rules! audit {
    ($executor:expr, $actor:expr, $action:expr, $subject:expr, $subject_id:expr, $detail:expr, $at:expr) => {{
        let actor: &tenet_events::Actor = $actor;
        let subject: $crate::audit::Subject = $subject;
        sqlx::query(
            "insert into audit_log (id, tenant_id, actor, action, subject_kind, subject_id, detail, at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(actor.tenant_id.as_uuid())
        .bind($crate::db::principal_json(actor))
        .bind($action)
        .bind(subject.as_str())
        .bind($subject_id)
        .bind($detail)
        .bind($at)
        .execute($executor)
        .await
    }};
}

/// Records that `actor` read the personal data of each of `subjects`, in one transaction.
/// `detail` says how (`read`, `search`...).
///
/// # Errors
/// Database errors; the caller then must not answer the data.
pub async fn record_reads(
    db: &Database,
    actor: &Actor,
    kind: Subject,
    subjects: &[Uuid],
    detail: &str,
) -> Result<(), sqlx::Error> {
    if subjects.is_empty() {
        return Ok(());
    }
    let at = crate::db::now();
    on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        for subject in subjects {
            crate::audit!(&mut *tx, actor, "read", kind, subject, detail, at)?;
        }
        tx.commit().await?;
    });
    Ok(())
}

/// One audited action.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    /// Its id.
    pub id: Uuid,
    /// Who read.
    #[schema(value_type = crate::openapi::PrincipalSchema)]
    pub actor: Principal,
    /// What was done: `read` or `redact`.
    pub action: String,
    /// The kind of record read.
    pub subject_kind: String,
    /// The record read.
    pub subject_id: Uuid,
    /// How it was read (`read`: one record, `search`: in a list), or why it was redacted.
    pub detail: String,
    /// When.
    pub at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: Uuid,
    actor: String,
    action: String,
    subject_kind: String,
    subject_id: Uuid,
    detail: String,
    at: DateTime<Utc>,
}

/// The tenant's audit entries, oldest first, optionally of one subject, after `after`.
///
/// # Errors
/// Database errors.
pub async fn list(
    db: &Database,
    actor: &Actor,
    subject: Option<Uuid>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let rows: Vec<AuditRow> = on_backend!(db, |pool| {
        sqlx::query_as(
            "select id, actor, action, subject_kind, subject_id, detail, at from audit_log \
             where tenant_id = $1 and ($2 is null or subject_id = $2) and ($3 is null or id > $3) \
             order by id limit $4",
        )
        .bind(actor.tenant_id.as_uuid())
        .bind(subject)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(|row| AuditEntry {
            id: row.id,
            actor: serde_json::from_str(&row.actor).unwrap_or(Principal::System),
            action: row.action,
            subject_kind: row.subject_kind,
            subject_id: row.subject_id,
            detail: row.detail,
            at: row.at,
        })
        .collect())
}
