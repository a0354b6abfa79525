//! Project operations: the named actions operators run on a project's tickets in one step
//! ("Call back", "Send to the meter team", "Waiting for documents").
//!
//! An operation is offered while a ticket is in one of its statuses (any status that is not
//! closed when it names none) and does all of its effects at once, in one transaction with
//! one new ticket version: move the ticket to a status of its workflow, set the priority,
//! assign it (to the operator running it, to the specialists of its request type, or to
//! nobody), set field values, and write a comment from a template, with the operator's note.
//! The ticket's history records which operation ran, besides each change it made.
//!
//! Operations are keyed, never deleted and retired rather than removed; changing one makes a
//! new version, and tickets keep the history of what each run did.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tenet_events::TenantId;
use tenet_events::tickets::{TicketPriority, TicketStatus};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::admin_events::Change;
use crate::constructor::{self, Field};
use crate::db::Database;
use crate::retirable::{self, Retirable, Stored};
use crate::tickets::{NewComment, Ticket};
use crate::workflows::Workflow;

/// The longest operation name.
pub const MAX_NAME: usize = 200;
/// The longest comment template.
pub const MAX_COMMENT: usize = 10_000;

/// Whom an operation assigns the ticket to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignTo {
    /// The user running the operation.
    Me,
    /// Of the specialists of the ticket's request type, the one with the fewest open tickets.
    Specialists,
    /// Nobody: the ticket goes back to the project's queue.
    Nobody,
}

/// The comment an operation writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentTemplate {
    /// Its text: 1 to 10,000 characters after trimming. The operator's note, when given, is
    /// added after it.
    #[schema(min_length = 1, max_length = 10_000, pattern = r"\S")]
    pub body: String,
    /// Whether the customer sees it; internal by default.
    #[serde(default)]
    pub public: bool,
}

/// What an operation is and does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperationDefinition {
    /// What operators see: 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// The workflow statuses (by key) the operation is offered in; every status but the closed
    /// ones when empty.
    #[serde(default)]
    pub from_statuses: Vec<String>,
    /// The workflow status (by key) it moves the ticket to, along an allowed transition.
    #[serde(default)]
    pub to_status: Option<String>,
    /// The priority it sets.
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::TicketPrioritySchema>)]
    pub priority: Option<TicketPriority>,
    /// Whom it assigns the ticket to.
    #[serde(default)]
    pub assign: Option<AssignTo>,
    /// The field values it sets, by key; `null` clears an optional field.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub fields: BTreeMap<String, Value>,
    /// The comment it writes.
    #[serde(default)]
    pub comment: Option<CommentTemplate>,
    /// Whether the operator must add a note (written as a comment) to run it.
    #[serde(default)]
    pub note_required: bool,
}

impl OperationDefinition {
    /// Checks the definition against the project's current `workflow` and `fields`, tidying
    /// its texts; returns the field at fault and what is wrong.
    ///
    /// # Errors
    /// `(field, message)` of the first problem.
    pub fn check(
        mut self,
        workflow: &Workflow,
        fields: &[Field],
    ) -> Result<Self, (String, String)> {
        let invalid = |field: &str, message: String| Err((field.to_owned(), message));
        self.name = self.name.trim().to_owned();
        if self.name.is_empty()
            || self.name.chars().count() > MAX_NAME
            || self.name.chars().any(char::is_control)
        {
            return invalid(
                "name",
                format!("name must be 1 to {MAX_NAME} characters without control characters"),
            );
        }
        for (index, key) in self.from_statuses.iter().enumerate() {
            if workflow.status(key).is_none() {
                return invalid(
                    &format!("from_statuses.{index}"),
                    format!("the project's workflow has no status `{key}`"),
                );
            }
            if self.from_statuses[..index].contains(key) {
                return invalid(
                    &format!("from_statuses.{index}"),
                    format!("status `{key}` is listed twice"),
                );
            }
        }
        if let Some(key) = &self.to_status
            && workflow.status(key).is_none()
        {
            return invalid(
                "to_status",
                format!("the project's workflow has no status `{key}`"),
            );
        }
        constructor::check_values(fields, &self.fields, false)?;
        if let Some(comment) = &mut self.comment {
            comment.body = comment.body.trim().to_owned();
            if comment.body.is_empty() || comment.body.chars().count() > MAX_COMMENT {
                return invalid(
                    "comment.body",
                    format!("comment.body must be 1 to {MAX_COMMENT} characters"),
                );
            }
        }
        let does_something = self.to_status.is_some()
            || self.priority.is_some()
            || self.assign.is_some()
            || !self.fields.is_empty()
            || self.comment.is_some()
            || self.note_required;
        if !does_something {
            return invalid(
                "to_status",
                "an operation must do something: move the ticket, set its priority, assign it, \
                 set fields, write a comment or take a note"
                    .into(),
            );
        }
        Ok(self)
    }

    /// Whether the operation is offered for a ticket in `workflow_status` (of lifecycle
    /// `status`).
    pub fn offered_in(&self, workflow_status: &str, status: TicketStatus) -> bool {
        if self.from_statuses.is_empty() {
            status != TicketStatus::Closed
        } else {
            self.from_statuses.iter().any(|key| key == workflow_status)
        }
    }

    /// The comment a run writes: the template, then the operator's `note`; `None` when there is
    /// neither.
    pub fn comment_with(&self, note: Option<String>) -> Option<NewComment> {
        match (&self.comment, note) {
            (Some(template), Some(note)) => Some(NewComment {
                body: format!("{}\n\n{note}", template.body),
                public: template.public,
            }),
            (Some(template), None) => Some(NewComment {
                body: template.body.clone(),
                public: template.public,
            }),
            (None, Some(note)) => Some(NewComment {
                body: note,
                public: false,
            }),
            (None, None) => None,
        }
    }
}

/// An operation of a project.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Operation {
    /// Its id.
    pub id: Uuid,
    /// Its key, unique in the project: what `POST /tickets/{id}/operations/{key}` names.
    pub key: String,
    /// What it is and does.
    pub definition: OperationDefinition,
    /// Whether it is offered; retired operations are kept.
    pub active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Its version; changes must name it.
    pub version: i64,
}

impl Operation {
    /// Whether the operation is active and offered for `ticket` as it is now.
    pub fn offered_for(&self, ticket: &Ticket) -> bool {
        self.active
            && self
                .definition
                .offered_in(&ticket.workflow_status, ticket.status)
    }
}

impl From<Stored<OperationDefinition>> for Operation {
    fn from(stored: Stored<OperationDefinition>) -> Self {
        Operation {
            id: stored.id,
            key: stored.key.unwrap_or_default(),
            definition: stored.definition,
            active: stored.active,
            created_at: stored.created_at,
            updated_at: stored.updated_at,
            version: stored.version,
        }
    }
}

impl From<&Operation> for Stored<OperationDefinition> {
    fn from(operation: &Operation) -> Self {
        Stored {
            id: operation.id,
            key: Some(operation.key.clone()),
            definition: operation.definition.clone(),
            active: operation.active,
            created_at: operation.created_at,
            updated_at: operation.updated_at,
            version: operation.version,
        }
    }
}

/// Adds operation `key` to `project`, with its `admin.project_configured` event.
///
/// # Errors
/// A unique violation when the key is taken in the project; database errors.
pub async fn add(
    db: &Database,
    change: Change<'_>,
    project: Uuid,
    key: String,
    definition: OperationDefinition,
) -> Result<Operation, sqlx::Error> {
    let stored = Stored::new(Some(key), definition);
    retirable::insert(db, Retirable::Operations, change, project, &stored).await?;
    Ok(Operation::from(stored))
}

/// The operations of `project`, by key.
///
/// # Errors
/// Database errors, or a stored definition this build cannot read.
pub async fn list(
    db: &Database,
    tenant: TenantId,
    project: Uuid,
) -> Result<Vec<Operation>, sqlx::Error> {
    let stored = retirable::list(db, Retirable::Operations, tenant, project, false, None).await?;
    Ok(stored.into_iter().map(Operation::from).collect())
}

/// Operation `key` of `project`, active or retired.
///
/// # Errors
/// Database errors, or a stored definition this build cannot read.
pub async fn by_key(
    db: &Database,
    tenant: TenantId,
    project: Uuid,
    key: &str,
) -> Result<Option<Operation>, sqlx::Error> {
    let stored =
        retirable::list(db, Retirable::Operations, tenant, project, false, Some(key)).await?;
    Ok(stored.into_iter().next().map(Operation::from))
}

/// Replaces the definition of `operation` and sets whether it is `active`, if it is still at
/// its version, with its `admin.project_configured` event; `None` when it is not.
///
/// # Errors
/// Database errors.
pub async fn update(
    db: &Database,
    change: Change<'_>,
    project: Uuid,
    operation: &Operation,
    definition: OperationDefinition,
    active: bool,
) -> Result<Option<Operation>, sqlx::Error> {
    let current = Stored::from(operation);
    let updated = retirable::update(
        db,
        Retirable::Operations,
        change,
        project,
        &current,
        definition,
        active,
    )
    .await?;
    Ok(updated.map(Operation::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition() -> OperationDefinition {
        OperationDefinition {
            name: "Call back".into(),
            from_statuses: Vec::new(),
            to_status: None,
            priority: None,
            assign: None,
            fields: BTreeMap::new(),
            comment: None,
            note_required: false,
        }
    }

    #[test]
    fn without_statuses_an_operation_is_offered_until_the_ticket_is_closed() {
        let anywhere = definition();
        assert!(anywhere.offered_in("new", TicketStatus::New));
        assert!(anywhere.offered_in("solved", TicketStatus::Solved));
        assert!(!anywhere.offered_in("closed", TicketStatus::Closed));
        let only_waiting = OperationDefinition {
            from_statuses: vec!["waiting_documents".into()],
            ..definition()
        };
        assert!(only_waiting.offered_in("waiting_documents", TicketStatus::Pending));
        assert!(!only_waiting.offered_in("open", TicketStatus::Open));
    }

    #[test]
    fn the_note_follows_the_template_and_keeps_its_visibility() {
        let templated = OperationDefinition {
            comment: Some(CommentTemplate {
                body: "We will call you back today.".into(),
                public: true,
            }),
            ..definition()
        };
        let comment = templated
            .comment_with(Some("Prefers mornings".into()))
            .unwrap();
        assert_eq!(
            comment.body,
            "We will call you back today.\n\nPrefers mornings"
        );
        assert!(comment.public);
        let note_only = definition()
            .comment_with(Some("Left a voicemail".into()))
            .unwrap();
        assert!(!note_only.public);
        assert!(definition().comment_with(None).is_none());
    }

    #[test]
    fn an_operation_that_does_nothing_is_refused() {
        let workflow = Workflow::built_in(Uuid::nil());
        let (field, message) = definition().check(&workflow, &[]).unwrap_err();
        assert_eq!(field, "to_status");
        assert!(message.contains("must do something"), "{message}");
        let noted = OperationDefinition {
            note_required: true,
            ..definition()
        };
        assert!(noted.check(&workflow, &[]).is_ok());
    }

    #[test]
    fn statuses_must_belong_to_the_workflow() {
        let workflow = Workflow::built_in(Uuid::nil());
        let moving = OperationDefinition {
            from_statuses: vec!["open".into(), "teleported".into()],
            to_status: Some("pending".into()),
            ..definition()
        };
        let (field, message) = moving.check(&workflow, &[]).unwrap_err();
        assert_eq!(field, "from_statuses.1");
        assert!(message.contains("teleported"), "{message}");
        let nowhere = OperationDefinition {
            to_status: Some("limbo".into()),
            ..definition()
        };
        assert_eq!(nowhere.check(&workflow, &[]).unwrap_err().0, "to_status");
    }
}
