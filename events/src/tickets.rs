//! Ticket events: contacts in every channel and the work done on them.
//!
//! The ops API is the system of record for tickets; these events are what analytics needs of
//! their life cycle. Comment text stays in the ops database (it is free text that may hold
//! personal data); the lake records who commented, whether it was public, and its length.

use serde::{Deserialize, Serialize};

use crate::ids::{
    AgentId, AttachmentId, CommentId, CustomerId, ProjectId, QueueId, ReasonCode, TicketId,
};
use crate::row::columns;

/// The channel a contact came in through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A phone call.
    Voice,
    /// E-mail.
    Email,
    /// Web chat.
    Chat,
    /// A messenger (WhatsApp, Telegram, ...).
    Messenger,
    /// Text message.
    Sms,
    /// A form on a web site.
    WebForm,
    /// A social network.
    Social,
}

impl Channel {
    /// The wire and lake name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Channel::Voice => "voice",
            Channel::Email => "email",
            Channel::Chat => "chat",
            Channel::Messenger => "messenger",
            Channel::Sms => "sms",
            Channel::WebForm => "web_form",
            Channel::Social => "social",
        }
    }
}

/// A ticket's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Created, nobody has worked on it yet.
    New,
    /// Being worked on.
    Open,
    /// Waiting for the customer.
    Pending,
    /// Waiting for a third party.
    OnHold,
    /// Answered; closes by itself unless the customer replies.
    Solved,
    /// Finished.
    Closed,
}

impl TicketStatus {
    /// The wire and lake name.
    pub fn as_str(&self) -> &'static str {
        match self {
            TicketStatus::New => "new",
            TicketStatus::Open => "open",
            TicketStatus::Pending => "pending",
            TicketStatus::OnHold => "on_hold",
            TicketStatus::Solved => "solved",
            TicketStatus::Closed => "closed",
        }
    }
}

/// A ticket's priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketPriority {
    /// Low.
    Low,
    /// Normal.
    Normal,
    /// High.
    High,
    /// Urgent.
    Urgent,
}

impl TicketPriority {
    /// The wire and lake name.
    pub fn as_str(&self) -> &'static str {
        match self {
            TicketPriority::Low => "low",
            TicketPriority::Normal => "normal",
            TicketPriority::High => "high",
            TicketPriority::Urgent => "urgent",
        }
    }
}

/// A ticket was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketCreated {
    /// The ticket.
    pub ticket_id: TicketId,
    /// The channel the contact came in through.
    pub channel: Channel,
    /// The requester, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<CustomerId>,
    /// The project it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<ProjectId>,
    /// The queue (group) it was routed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<QueueId>,
    /// Its priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<TicketPriority>,
}

/// A ticket's status changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketStatusChanged {
    /// The ticket.
    pub ticket_id: TicketId,
    /// The status before.
    pub from: TicketStatus,
    /// The status after.
    pub to: TicketStatus,
    /// The ticket's project, so every event of a ticket is visible to those who may see the
    /// project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<ProjectId>,
    /// The status before in the project's own workflow (a key of its workflow, whose
    /// category is `from`); absent from version 2 events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_workflow_status: Option<String>,
    /// The status after in the project's own workflow (category `to`); a move between two
    /// workflow statuses of one category has `from` equal to `to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_workflow_status: Option<String>,
}

/// A ticket was assigned to someone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketAssigned {
    /// The ticket.
    pub ticket_id: TicketId,
    /// Who works it now.
    pub assignee_id: AgentId,
    /// Who worked it before, if anyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_assignee_id: Option<AgentId>,
    /// The queue (group) it is assigned within.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<QueueId>,
    /// The ticket's project, so every event of a ticket is visible to those who may see the
    /// project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<ProjectId>,
}

/// Who wrote a comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    content = "id",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum Author {
    /// A person of the contact center.
    Agent(AgentId),
    /// The customer.
    Customer(CustomerId),
    /// An automation.
    System,
}

impl Author {
    /// The author's kind as stored in the lake: `agent`, `customer` or `system`.
    pub fn kind(&self) -> &'static str {
        match self {
            Author::Agent(_) => "agent",
            Author::Customer(_) => "customer",
            Author::System => "system",
        }
    }

    /// The author's identifier text (none for the system).
    pub fn id(&self) -> Option<&str> {
        match self {
            Author::Agent(id) => Some(id.as_str()),
            Author::Customer(id) => Some(id.as_str()),
            Author::System => None,
        }
    }
}

/// A comment was added to a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketCommented {
    /// The ticket.
    pub ticket_id: TicketId,
    /// The comment.
    pub comment_id: CommentId,
    /// Who wrote it.
    pub author: Author,
    /// Whether the customer can see it.
    pub public: bool,
    /// The comment's length in characters (its text stays in the ops database).
    pub body_chars: u32,
    /// The ticket's project, so every event of a ticket is visible to those who may see the
    /// project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<ProjectId>,
}

/// A file was attached to a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketAttachmentAdded {
    /// The ticket.
    pub ticket_id: TicketId,
    /// The attachment.
    pub attachment_id: AttachmentId,
    /// Who attached it.
    pub author: Author,
    /// Whether the customer can see it.
    pub public: bool,
    /// Its media type, e.g. `application/pdf` (the file itself stays in the object store).
    pub content_type: String,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// The ticket's project, so every event of a ticket is visible to those who may see the
    /// project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<ProjectId>,
}

/// A ticket was closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketClosed {
    /// The ticket.
    pub ticket_id: TicketId,
    /// The resolution code, when one was chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<ReasonCode>,
    /// The ticket's project, so every event of a ticket is visible to those who may see the
    /// project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<ProjectId>,
}

/// A closed ticket was reopened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketReopened {
    /// The ticket.
    pub ticket_id: TicketId,
    /// Why, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ReasonCode>,
    /// The ticket's project, so every event of a ticket is visible to those who may see the
    /// project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<ProjectId>,
}

/// Every ticket event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum TicketEvent {
    /// `ticket.created`.
    Created(TicketCreated),
    /// `ticket.status_changed`.
    StatusChanged(TicketStatusChanged),
    /// `ticket.assigned`.
    Assigned(TicketAssigned),
    /// `ticket.commented`.
    Commented(TicketCommented),
    /// `ticket.attachment_added`.
    AttachmentAdded(TicketAttachmentAdded),
    /// `ticket.closed`.
    Closed(TicketClosed),
    /// `ticket.reopened`.
    Reopened(TicketReopened),
}

columns! {
    /// The `tickets` table's own columns (after the header).
    pub struct TicketColumns {
        /// The ticket.
        pub ticket_id: String,
        /// Channel (`ticket.created`).
        pub channel: Option<String>,
        /// Requester (`ticket.created`).
        pub customer_id: Option<String>,
        /// Project (`ticket.created`).
        pub project_id: Option<String>,
        /// Queue (`ticket.created`, `ticket.assigned`).
        pub queue_id: Option<String>,
        /// Priority (`ticket.created`).
        pub priority: Option<String>,
        /// Status before (`ticket.status_changed`).
        pub status_from: Option<String>,
        /// Status after (`ticket.status_changed`).
        pub status_to: Option<String>,
        /// New assignee (`ticket.assigned`).
        pub assignee_id: Option<String>,
        /// Previous assignee (`ticket.assigned`).
        pub previous_assignee_id: Option<String>,
        /// Comment (`ticket.commented`).
        pub comment_id: Option<String>,
        /// `agent`, `customer` or `system` (`ticket.commented`).
        pub author_kind: Option<String>,
        /// Author id (`ticket.commented`).
        pub author_id: Option<String>,
        /// Visible to the customer (`ticket.commented`).
        pub public: Option<bool>,
        /// Comment length (`ticket.commented`).
        pub body_chars: Option<i64>,
        /// Resolution (`ticket.closed`) or reopen reason (`ticket.reopened`).
        pub reason: Option<String>,
        /// Workflow status before (`ticket.status_changed` from version 3).
        pub workflow_status_from: Option<String>,
        /// Workflow status after (`ticket.status_changed` from version 3).
        pub workflow_status_to: Option<String>,
        /// Attachment (`ticket.attachment_added`).
        pub attachment_id: Option<String>,
        /// Media type of the attachment (`ticket.attachment_added`).
        pub content_type: Option<String>,
        /// Size of the attachment in bytes (`ticket.attachment_added`).
        pub size_bytes: Option<i64>,
    }
}

impl TicketEvent {
    /// The event's values for the `tickets` table, its text moved
    /// into them rather than copied.
    pub fn into_columns(self) -> TicketColumns {
        match self {
            TicketEvent::Created(e) => TicketColumns {
                ticket_id: String::from(e.ticket_id),
                channel: Some(e.channel.as_str().to_owned()),
                customer_id: e.customer_id.map(String::from),
                project_id: e.project_id.map(String::from),
                queue_id: e.queue_id.map(String::from),
                priority: e.priority.map(|p| p.as_str().to_owned()),
                ..TicketColumns::default()
            },
            TicketEvent::StatusChanged(e) => TicketColumns {
                ticket_id: String::from(e.ticket_id),
                project_id: e.project_id.map(String::from),
                status_from: Some(e.from.as_str().to_owned()),
                status_to: Some(e.to.as_str().to_owned()),
                workflow_status_from: e.from_workflow_status,
                workflow_status_to: e.to_workflow_status,
                ..TicketColumns::default()
            },
            TicketEvent::Assigned(e) => TicketColumns {
                ticket_id: String::from(e.ticket_id),
                project_id: e.project_id.map(String::from),
                assignee_id: Some(String::from(e.assignee_id)),
                previous_assignee_id: e.previous_assignee_id.map(String::from),
                queue_id: e.queue_id.map(String::from),
                ..TicketColumns::default()
            },
            TicketEvent::Commented(e) => TicketColumns {
                ticket_id: String::from(e.ticket_id),
                project_id: e.project_id.map(String::from),
                comment_id: Some(String::from(e.comment_id)),
                author_kind: Some(e.author.kind().to_owned()),
                author_id: e.author.id().map(str::to_owned),
                public: Some(e.public),
                body_chars: Some(e.body_chars.into()),
                ..TicketColumns::default()
            },
            TicketEvent::AttachmentAdded(e) => TicketColumns {
                ticket_id: String::from(e.ticket_id),
                project_id: e.project_id.map(String::from),
                attachment_id: Some(String::from(e.attachment_id)),
                author_kind: Some(e.author.kind().to_owned()),
                author_id: e.author.id().map(str::to_owned),
                public: Some(e.public),
                content_type: Some(e.content_type),
                size_bytes: Some(i64::try_from(e.size_bytes).unwrap_or(i64::MAX)),
                ..TicketColumns::default()
            },
            TicketEvent::Closed(e) => TicketColumns {
                ticket_id: String::from(e.ticket_id),
                project_id: e.project_id.map(String::from),
                reason: e.resolution.map(String::from),
                ..TicketColumns::default()
            },
            TicketEvent::Reopened(e) => TicketColumns {
                ticket_id: String::from(e.ticket_id),
                project_id: e.project_id.map(String::from),
                reason: e.reason.map(String::from),
                ..TicketColumns::default()
            },
        }
    }
}
