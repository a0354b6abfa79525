//! Tickets (обращения): contacts from every channel and the work done on them.
//!
//! Every change is one transaction that updates the ticket, appends to its history and
//! enqueues the event describing it in the outbox. Updates name the version they were based
//! on, so two operators cannot overwrite each other silently.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tenet_events::identity::Principal;
use tenet_events::ids::{AgentId, CommentId, CustomerId, ProjectId, TicketId};
use tenet_events::tickets::{
    Author, Channel, TicketAssigned, TicketClosed, TicketCommented, TicketCreated, TicketPriority,
    TicketReopened, TicketStatus, TicketStatusChanged,
};
use tenet_events::{Actor, Envelope, OccurredAt, Role, TraceContext};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::constructor;
use crate::db::{BeginWrite, Database, now, principal_json, stored};
use crate::notifications::{self, Happening};
use crate::outbox::OutboxRecord;
use crate::rbac::Scope;
use crate::sla::{self, Clock, TicketSla};
use crate::workflows::{self, MoveError, Target};
use crate::{enqueue, on_backend};

/// A stored ticket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Ticket {
    /// Its id.
    pub id: Uuid,
    /// Its project.
    pub project_id: Uuid,
    /// Its number within the tenant (1, 2, 3...).
    pub number: i64,
    /// One line saying what it is about.
    pub subject: String,
    /// The request in full.
    pub description: String,
    /// The channel it came in through.
    #[schema(value_type = crate::openapi::ChannelSchema)]
    pub channel: Channel,
    /// Its lifecycle status: the category of its workflow status.
    #[schema(value_type = crate::openapi::TicketStatusSchema)]
    pub status: TicketStatus,
    /// Where it is in its project's workflow: a status key of `workflow_version`.
    pub workflow_status: String,
    /// The version of its project's workflow it moves along (0: the built-in workflow).
    pub workflow_version: i64,
    /// How urgent it is.
    #[schema(value_type = crate::openapi::TicketPrioritySchema)]
    pub priority: TicketPriority,
    /// Who works it.
    pub assignee_id: Option<Uuid>,
    /// The customer who asked.
    pub customer_id: Option<Uuid>,
    /// Its request type, a key of its project's request types.
    pub request_type: Option<String>,
    /// Its custom field values, by field key.
    #[schema(value_type = Object)]
    pub fields: BTreeMap<String, serde_json::Value>,
    /// Its service-level clocks; `null` when its project had no SLA policy when it was created.
    pub sla: Option<TicketSla>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Its version: send it back with a change.
    pub version: i64,
    /// What the SLA clocks are computed from.
    #[serde(skip)]
    pub(crate) clocks: SlaState,
}

/// The stored SLA state of a ticket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SlaState {
    /// The project's policy version it is measured by.
    pub(crate) policy_version: Option<i64>,
    pub(crate) first_response_due_at: Option<DateTime<Utc>>,
    pub(crate) resolution_due_at: Option<DateTime<Utc>>,
    pub(crate) first_responded_at: Option<DateTime<Utc>>,
    pub(crate) resolved_at: Option<DateTime<Utc>>,
}

impl SlaState {
    /// The clocks as of `now`.
    fn view(&self, now: DateTime<Utc>) -> Option<TicketSla> {
        self.policy_version.map(|policy_version| TicketSla {
            policy_version,
            first_response: self
                .first_response_due_at
                .map(|due| Clock::at(due, self.first_responded_at, now)),
            resolution: self
                .resolution_due_at
                .map(|due| Clock::at(due, self.resolved_at, now)),
        })
    }
}

#[derive(sqlx::FromRow)]
struct TicketRow {
    id: Uuid,
    project_id: Uuid,
    number: i64,
    subject: String,
    description: String,
    channel: String,
    status: String,
    priority: String,
    assignee_id: Option<Uuid>,
    customer_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
    sla_policy_version: Option<i64>,
    first_response_due_at: Option<DateTime<Utc>>,
    resolution_due_at: Option<DateTime<Utc>>,
    first_responded_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    request_type: Option<String>,
    fields: String,
    workflow_status: Option<String>,
    workflow_version: i64,
}

const COLUMNS: &str = "id, project_id, number, subject, description, channel, status, priority, \
                       assignee_id, customer_id, created_at, updated_at, version, \
                       sla_policy_version, first_response_due_at, resolution_due_at, \
                       first_responded_at, resolved_at, request_type, fields, \
                       workflow_status, workflow_version";

impl TryFrom<TicketRow> for Ticket {
    type Error = sqlx::Error;

    fn try_from(row: TicketRow) -> Result<Self, Self::Error> {
        let clocks = SlaState {
            policy_version: row.sla_policy_version,
            first_response_due_at: row.first_response_due_at,
            resolution_due_at: row.resolution_due_at,
            first_responded_at: row.first_responded_at,
            resolved_at: row.resolved_at,
        };
        Ok(Ticket {
            id: row.id,
            project_id: row.project_id,
            number: row.number,
            subject: row.subject,
            description: row.description,
            channel: stored("channel", &row.channel)?,
            workflow_status: row.workflow_status.unwrap_or_else(|| row.status.clone()),
            workflow_version: row.workflow_version,
            status: stored("status", &row.status)?,
            priority: stored("priority", &row.priority)?,
            assignee_id: row.assignee_id,
            customer_id: row.customer_id,
            request_type: row.request_type,
            fields: serde_json::from_str(&row.fields).map_err(|error| {
                sqlx::Error::ColumnDecode {
                    index: "fields".into(),
                    source: Box::new(error),
                }
            })?,
            sla: clocks.view(Utc::now()),
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
            clocks,
        })
    }
}

/// What goes wrong with a ticket operation.
#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    /// No such ticket in the tenant (or not one the caller may see).
    #[error("ticket not found")]
    NotFound,
    /// The ticket changed since the version the caller based the change on.
    #[error(
        "the ticket was changed by someone else (now at version {current}); reload it and retry"
    )]
    VersionConflict {
        /// The version now stored.
        current: i64,
    },
    /// The ticket's workflow does not allow this move, or lacks the status asked for.
    #[error("{refusal}")]
    InvalidTransition {
        /// The field that asked for it: `status` or `workflow_status`.
        field: &'static str,
        /// Why it is refused.
        refusal: MoveError,
    },
    /// The assignee is not an active user of the tenant.
    #[error("assignee {0} is not an active user of this tenant")]
    UnknownAssignee(Uuid),
    /// The change changes nothing.
    #[error("the change has no effect")]
    NoChange,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Whether the default workflow allows `from` → `to`.
pub fn transition_allowed(from: TicketStatus, to: TicketStatus) -> bool {
    use TicketStatus::*;
    match (from, to) {
        (a, b) if a == b => false,
        (_, New) => false,
        (Closed, other) => other == Open,
        (Solved, other) => matches!(other, Open | Closed),
        _ => true,
    }
}

/// What it takes to create a ticket.
#[derive(Debug, Clone)]
pub struct NewTicket {
    /// Its project.
    pub project_id: Uuid,
    /// One line, 1 to 300 characters.
    pub subject: String,
    /// The request in full.
    pub description: String,
    /// The channel it came in through.
    pub channel: Channel,
    /// How urgent it is.
    pub priority: TicketPriority,
    /// Who should work it.
    pub assignee_id: Option<Uuid>,
    /// The customer who asked, already checked to be a current customer of the tenant.
    pub customer_id: Option<Uuid>,
    /// Its request type, already checked against the project's.
    pub request_type: Option<String>,
    /// Its custom field values, already checked against the project's fields.
    pub fields: BTreeMap<String, serde_json::Value>,
}

fn agent(id: Uuid) -> Option<AgentId> {
    AgentId::parse(id.to_string()).ok()
}

fn ticket_id(id: Uuid) -> TicketId {
    TicketId::parse(id.to_string()).expect("a UUID is a valid ticket id")
}

/// Creates a ticket, numbering it within the tenant. A ticket created without an assignee is
/// routed to a specialist of its request type, when the type has them
/// ([`constructor::route`]); an assignment at creation is published as `ticket.assigned`
/// after `ticket.created`.
///
/// # Errors
/// [`TicketError::UnknownAssignee`] for an assignee outside the tenant; database errors.
pub async fn create(
    db: &Database,
    actor: &Actor,
    trace: Option<&TraceContext>,
    mut new: NewTicket,
) -> Result<Ticket, TicketError> {
    if let Some(assignee) = new.assignee_id {
        ensure_assignee(db, actor, assignee).await?;
    } else if let Some(request_type) = &new.request_type
        && let Some(specialist) =
            constructor::route(db, actor.tenant_id, new.project_id, request_type).await?
    {
        // A specialist deactivated since the type was configured is passed over.
        if ensure_assignee(db, actor, specialist).await.is_ok() {
            new.assignee_id = Some(specialist);
        }
    }
    // Microseconds, as PostgreSQL stores them, so answers match later reads.
    let now = now();
    let id = Uuid::now_v7();
    let policy = sla::current(db, actor, new.project_id).await?;
    let workflow = workflows::current(db, actor, new.project_id).await?;
    let initial = workflow.initial();
    let clocks = policy.as_ref().map_or_else(SlaState::default, |policy| {
        let (first_response_due_at, resolution_due_at) = sla::due_times(policy, new.priority, now);
        SlaState {
            policy_version: Some(policy.version),
            first_response_due_at,
            resolution_due_at,
            ..SlaState::default()
        }
    });
    let tenant = actor.tenant_id.as_uuid();
    let envelope = Envelope::new(
        actor.tenant_id,
        OccurredAt::from_datetime(now).unwrap_or_else(|_| OccurredAt::now()),
        TicketCreated {
            ticket_id: ticket_id(id),
            channel: new.channel,
            customer_id: new
                .customer_id
                .and_then(|customer| CustomerId::parse(customer.to_string()).ok()),
            project_id: ProjectId::parse(new.project_id.to_string()).ok(),
            queue_id: None,
            priority: Some(new.priority),
        },
    );
    let record = OutboxRecord::new(&envelope, trace);
    let assigned = new.assignee_id.and_then(agent).map(|assignee_id| {
        let event = Envelope::new(
            actor.tenant_id,
            envelope.occurred_at,
            TicketAssigned {
                ticket_id: ticket_id(id),
                assignee_id,
                previous_assignee_id: None,
                queue_id: None,
                project_id: ProjectId::parse(new.project_id.to_string()).ok(),
            },
        );
        OutboxRecord::new(&event, trace)
    });
    let mut ticket = Ticket {
        id,
        project_id: new.project_id,
        number: 0,
        subject: new.subject,
        description: new.description,
        channel: new.channel,
        status: initial.category,
        workflow_status: initial.key.clone(),
        workflow_version: workflow.version,
        priority: new.priority,
        assignee_id: new.assignee_id,
        customer_id: new.customer_id,
        request_type: new.request_type,
        fields: new.fields,
        sla: clocks.view(now),
        created_at: now,
        updated_at: now,
        version: 1,
        clocks,
    };
    let mut happenings = vec![Happening::Created];
    if ticket.assignee_id.is_some() {
        happenings.push(Happening::Assigned);
    }
    let notifications = notifications::plan(db, actor, &ticket, &happenings).await?;
    let number: i64 = on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let number: i64 = sqlx::query_scalar(
            "insert into ticket_numbers (tenant_id, last_number) values ($1, 1) \
             on conflict (tenant_id) do update set last_number = ticket_numbers.last_number + 1 \
             returning last_number",
        )
        .bind(tenant)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "insert into tickets (id, tenant_id, project_id, number, subject, description, channel, \
             status, priority, assignee_id, customer_id, created_at, updated_at, sla_policy_version, \
             first_response_due_at, resolution_due_at, search_text, request_type, fields, \
             workflow_status, workflow_version) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20)",
        )
        .bind(id)
        .bind(tenant)
        .bind(ticket.project_id)
        .bind(number)
        .bind(&ticket.subject)
        .bind(&ticket.description)
        .bind(ticket.channel.as_str())
        .bind(initial.category.as_str())
        .bind(ticket.priority.as_str())
        .bind(ticket.assignee_id)
        .bind(ticket.customer_id)
        .bind(now)
        .bind(clocks.policy_version)
        .bind(clocks.first_response_due_at)
        .bind(clocks.resolution_due_at)
        .bind(format!("{} {}", ticket.subject, ticket.description).to_lowercase())
        .bind(&ticket.request_type)
        .bind(serde_json::to_string(&ticket.fields).unwrap_or_else(|_| "{}".into()))
        .bind(&initial.key)
        .bind(workflow.version)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "insert into ticket_history (id, tenant_id, ticket_id, actor, field, old_value, new_value, at) \
             values ($1, $2, $3, $4, 'created', null, $5, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(tenant)
        .bind(id)
        .bind(principal_json(actor))
        .bind(&ticket.subject)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        enqueue!(&mut *tx, &record)?;
        if let Some(assigned) = &assigned {
            enqueue!(&mut *tx, assigned)?;
        }
        notifications::deliver!(&mut tx, tenant, &ticket, &notifications, now);
        tx.commit().await?;
        number
    });
    ticket.number = number;
    Ok(ticket)
}

async fn ensure_assignee(db: &Database, actor: &Actor, assignee: Uuid) -> Result<(), TicketError> {
    match crate::users::get(db, actor.tenant_id, assignee).await? {
        Some(user) if user.active => Ok(()),
        _ => Err(TicketError::UnknownAssignee(assignee)),
    }
}

/// Which tickets a caller may see: the scope of their role and who they are.
#[derive(Debug, Clone, Copy)]
pub struct Visibility {
    /// The scope from the permission table.
    pub scope: Scope,
    /// The signed-in user, if the caller is one.
    pub user: Option<Uuid>,
}

impl Visibility {
    /// The visibility of `actor` with `scope`.
    pub fn of(actor: &Actor, scope: Scope) -> Self {
        let user = match actor.principal {
            Principal::User(id) => Some(id),
            _ => None,
        };
        Self { scope, user }
    }

    fn flags(&self) -> (bool, bool, bool) {
        (
            self.scope == Scope::Tenant,
            self.scope == Scope::Projects,
            self.scope == Scope::Assigned,
        )
    }
}

/// The visibility clause, with `$2`..`$5` bound by [`bind_visibility`]: all, by project
/// membership, or assigned to the user.
const VISIBLE: &str = "($2 or ($3 and t.project_id in (select m.project_id from project_members m \
                       where m.tenant_id = t.tenant_id and m.user_id = $5)) \
                       or ($4 and t.assignee_id = $5))";

/// Filters for listing tickets.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    /// Only this project.
    pub project_id: Option<Uuid>,
    /// Only this customer's.
    pub customer_id: Option<Uuid>,
    /// Only tickets whose subject or description contains this, ignoring case.
    pub text: Option<String>,
    /// Only this status.
    pub status: Option<TicketStatus>,
    /// Only tickets in this status of their project's workflow.
    pub workflow_status: Option<String>,
    /// Only tickets assigned to this user.
    pub assignee_id: Option<Uuid>,
    /// Only tickets after this one (the previous page's `next_cursor`).
    pub after: Option<Uuid>,
    /// At most this many.
    pub limit: i64,
}

/// One ticket the caller may see.
///
/// # Errors
/// Database errors.
pub async fn get(
    db: &Database,
    actor: &Actor,
    visibility: Visibility,
    id: Uuid,
) -> Result<Option<Ticket>, sqlx::Error> {
    let (all, projects, assigned) = visibility.flags();
    let row: Option<TicketRow> = on_backend!(db, |pool| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from tickets t where t.tenant_id = $1 and {VISIBLE} and t.id = $6"
        ))
        .bind(actor.tenant_id.as_uuid())
        .bind(all)
        .bind(projects)
        .bind(assigned)
        .bind(visibility.user)
        .bind(id)
        .fetch_optional(pool)
        .await?
    });
    row.map(Ticket::try_from).transpose()
}

/// The tickets the caller may see that match `filter`, oldest first.
///
/// # Errors
/// Database errors.
pub async fn list(
    db: &Database,
    actor: &Actor,
    visibility: Visibility,
    filter: &TicketFilter,
) -> Result<Vec<Ticket>, sqlx::Error> {
    let (all, projects, assigned) = visibility.flags();
    let sql = format!(
        "select {COLUMNS} from tickets t where t.tenant_id = $1 and {VISIBLE} \
         and ($6 is null or t.project_id = $6) and ($7 is null or t.status = $7) \
         and ($8 is null or t.assignee_id = $8) and ($9 is null or t.id > $9) \
         and ($11 is null or t.customer_id = $11) \
         and ($12 is null or t.search_text like $12 escape '\\') \
         and ($13 is null or t.workflow_status = $13) \
         order by t.id limit $10"
    );
    let rows: Vec<TicketRow> = on_backend!(db, |pool| {
        sqlx::query_as(&sql)
            .bind(actor.tenant_id.as_uuid())
            .bind(all)
            .bind(projects)
            .bind(assigned)
            .bind(visibility.user)
            .bind(filter.project_id)
            .bind(filter.status.map(|status| status.as_str()))
            .bind(filter.assignee_id)
            .bind(filter.after)
            .bind(filter.limit)
            .bind(filter.customer_id)
            .bind(filter.text.as_deref().map(crate::db::contains_pattern))
            .bind(filter.workflow_status.as_deref())
            .fetch_all(pool)
            .await?
    });
    rows.into_iter().map(Ticket::try_from).collect()
}

/// A customer's tickets as the caller may see them: how many, how many still open, and the
/// first and latest.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerTickets {
    /// How many tickets the customer has.
    pub total: i64,
    /// How many of them are neither solved nor closed.
    pub open: i64,
    /// When the first was created.
    pub first_contact_at: Option<DateTime<Utc>>,
    /// When the latest was created.
    pub last_contact_at: Option<DateTime<Utc>>,
    /// The latest tickets, newest first (at most 20); the rest through
    /// `GET /api/v1/tickets?customer_id=`.
    pub recent: Vec<Ticket>,
}

/// The tickets of `customer` the caller may see.
///
/// # Errors
/// Database errors.
pub async fn of_customer(
    db: &Database,
    actor: &Actor,
    visibility: Visibility,
    customer: Uuid,
) -> Result<CustomerTickets, sqlx::Error> {
    let (all, projects, assigned) = visibility.flags();
    let tenant = actor.tenant_id.as_uuid();
    let mine = format!("t.tenant_id = $1 and {VISIBLE} and t.customer_id = $6");
    let counts = format!(
        "select count(*), coalesce(sum(case when t.status in ('solved', 'closed') then 0 else 1 end), 0) \
         from tickets t where {mine}"
    );
    let newest =
        format!("select {COLUMNS} from tickets t where {mine} order by t.id desc limit 20");
    let oldest = format!("select t.created_at from tickets t where {mine} order by t.id limit 1");
    // The three queries share the visibility clause and its six parameters.
    macro_rules! mine {
        ($query:expr) => {
            $query
                .bind(tenant)
                .bind(all)
                .bind(projects)
                .bind(assigned)
                .bind(visibility.user)
                .bind(customer)
        };
    }
    let ((total, open), recent, first): ((i64, i64), Vec<TicketRow>, Option<DateTime<Utc>>) =
        on_backend!(db, |pool| {
            (
                mine!(sqlx::query_as(&counts)).fetch_one(pool).await?,
                mine!(sqlx::query_as(&newest)).fetch_all(pool).await?,
                mine!(sqlx::query_scalar(&oldest))
                    .fetch_optional(pool)
                    .await?,
            )
        });
    let recent = recent
        .into_iter()
        .map(Ticket::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CustomerTickets {
        total,
        open,
        first_contact_at: first,
        last_contact_at: recent.first().map(|ticket| ticket.created_at),
        recent,
    })
}

/// A change to a ticket, based on the version the caller saw.
#[derive(Debug, Clone, Default)]
pub struct TicketChange {
    /// The new lifecycle status: the first status of that category, in workflow order, that
    /// the ticket may move to.
    pub status: Option<TicketStatus>,
    /// The new status of the ticket's workflow, by key; takes precedence over `status`.
    pub workflow_status: Option<String>,
    /// The new priority.
    pub priority: Option<TicketPriority>,
    /// The new assignee (`Some(None)` unassigns).
    pub assignee_id: Option<Option<Uuid>>,
    /// The new request type, already checked against the project's.
    pub request_type: Option<String>,
    /// Field values to set, already checked; `null` clears a field.
    pub fields: BTreeMap<String, serde_json::Value>,
    /// The new customer, already checked to be current (`Some(None)` unlinks).
    pub customer_id: Option<Option<Uuid>>,
    /// A comment written with the change, in the same transaction.
    pub comment: Option<NewComment>,
    /// The project operation the change carries out, by key; the history records it.
    pub operation: Option<String>,
}

/// A comment to write.
#[derive(Debug, Clone)]
pub struct NewComment {
    /// Its text, already checked.
    pub body: String,
    /// Whether the customer sees it.
    pub public: bool,
}

/// Applies `change` to `ticket` if it is still at `ticket.version`.
///
/// # Errors
/// [`TicketError::VersionConflict`] when someone changed it meanwhile,
/// [`TicketError::InvalidTransition`], [`TicketError::UnknownAssignee`],
/// [`TicketError::NoChange`]; database errors.
pub async fn update(
    db: &Database,
    actor: &Actor,
    trace: Option<&TraceContext>,
    ticket: &Ticket,
    expected_version: i64,
    change: TicketChange,
) -> Result<Ticket, TicketError> {
    if ticket.version != expected_version {
        return Err(TicketError::VersionConflict {
            current: ticket.version,
        });
    }
    let mut next = ticket.clone();
    let mut history: Vec<(&'static str, Option<String>, Option<String>)> = Vec::new();
    let mut events = Vec::new();
    // Microseconds, as PostgreSQL stores them, so answers match later reads.
    let now = now();
    let at = OccurredAt::from_datetime(now).unwrap_or_else(|_| OccurredAt::now());
    let tid = ticket_id(ticket.id);
    let project = ProjectId::parse(ticket.project_id.to_string()).ok();
    let (field, target) = match (&change.workflow_status, change.status) {
        (Some(key), _) => ("workflow_status", Some(Target::Status(key))),
        (None, Some(status)) => ("status", Some(Target::Category(status))),
        (None, None) => ("status", None),
    };
    let destination = match target {
        Some(target) => {
            let workflow =
                workflows::version(db, actor, ticket.project_id, ticket.workflow_version)
                    .await?
                    .ok_or_else(|| {
                        sqlx::Error::Protocol(format!(
                            "ticket {} names workflow version {} that its project lacks",
                            ticket.id, ticket.workflow_version
                        ))
                    })?;
            workflow
                .destination(&ticket.workflow_status, target)
                .map_err(|refusal| TicketError::InvalidTransition { field, refusal })?
                .cloned()
        }
        None => None,
    };
    let mut happenings = Vec::new();
    if let Some(destination) = destination {
        happenings.push(Happening::StatusChanged {
            to: destination.key.clone(),
        });
        let status = destination.category;
        next.status = status;
        next.workflow_status = destination.key.clone();
        history.push((
            "status",
            Some(ticket.workflow_status.clone()),
            Some(destination.key.clone()),
        ));
        let finished =
            |status: TicketStatus| matches!(status, TicketStatus::Closed | TicketStatus::Solved);
        let reopened = finished(ticket.status) && !finished(status);
        // The resolution clock stops at solved or closed and runs again on reopening.
        if reopened {
            next.clocks.resolved_at = None;
        } else if matches!(status, TicketStatus::Solved | TicketStatus::Closed) {
            next.clocks.resolved_at = next.clocks.resolved_at.or(Some(now));
        }
        events.push(
            if status == TicketStatus::Closed && ticket.status != TicketStatus::Closed {
                Envelope::new(
                    actor.tenant_id,
                    at,
                    TicketClosed {
                        ticket_id: tid.clone(),
                        resolution: None,
                        project_id: project.clone(),
                    },
                )
            } else if reopened {
                Envelope::new(
                    actor.tenant_id,
                    at,
                    TicketReopened {
                        ticket_id: tid.clone(),
                        reason: None,
                        project_id: project.clone(),
                    },
                )
            } else {
                Envelope::new(
                    actor.tenant_id,
                    at,
                    TicketStatusChanged {
                        ticket_id: tid.clone(),
                        from: ticket.status,
                        to: status,
                        project_id: project.clone(),
                        from_workflow_status: Some(ticket.workflow_status.clone()),
                        to_workflow_status: Some(destination.key.clone()),
                    },
                )
            },
        );
    }
    if let Some(priority) = change
        .priority
        .filter(|priority| *priority != ticket.priority)
    {
        next.priority = priority;
        // The due times follow the priority, under the policy the ticket was created with.
        if let Some(version) = ticket.clocks.policy_version
            && let Some(policy) = sla::version(db, actor, ticket.project_id, version).await?
        {
            let (first_response, resolution) = sla::due_times(&policy, priority, ticket.created_at);
            next.clocks.first_response_due_at = first_response;
            next.clocks.resolution_due_at = resolution;
        }
        history.push((
            "priority",
            Some(ticket.priority.as_str().into()),
            Some(priority.as_str().into()),
        ));
    }
    if let Some(assignee) = change
        .assignee_id
        .filter(|assignee| *assignee != ticket.assignee_id)
    {
        if let Some(user) = assignee {
            ensure_assignee(db, actor, user).await?;
        }
        next.assignee_id = assignee;
        if assignee.is_some() {
            happenings.push(Happening::Assigned);
        }
        history.push((
            "assignee_id",
            ticket.assignee_id.map(|id| id.to_string()),
            assignee.map(|id| id.to_string()),
        ));
        if let Some(assignee_id) = assignee.and_then(agent) {
            events.push(Envelope::new(
                actor.tenant_id,
                at,
                TicketAssigned {
                    ticket_id: tid.clone(),
                    assignee_id,
                    previous_assignee_id: ticket.assignee_id.and_then(agent),
                    queue_id: None,
                    project_id: project.clone(),
                },
            ));
        }
    }
    if let Some(customer) = change
        .customer_id
        .filter(|customer| *customer != ticket.customer_id)
    {
        history.push((
            "customer_id",
            ticket.customer_id.map(|id| id.to_string()),
            customer.map(|id| id.to_string()),
        ));
        next.customer_id = customer;
    }
    if let Some(request_type) = change
        .request_type
        .filter(|kind| Some(kind) != ticket.request_type.as_ref())
    {
        history.push((
            "request_type",
            ticket.request_type.clone(),
            Some(request_type.clone()),
        ));
        next.request_type = Some(request_type);
    }
    for (key, value) in change.fields {
        let old = ticket.fields.get(&key);
        if value.is_null() {
            if let Some(old) = next.fields.remove(&key) {
                history.push(("fields", Some(format!("{key}: {old}")), None));
            }
        } else if old != Some(&value) {
            history.push((
                "fields",
                old.map(|old| format!("{key}: {old}")),
                Some(format!("{key}: {value}")),
            ));
            next.fields.insert(key, value);
        }
    }
    if let Some(operation) = &change.operation {
        history.push(("operation", None, Some(operation.clone())));
    }
    let comment = change.comment.map(|comment| {
        let written = WrittenComment::new(actor, trace, &next, comment.body, comment.public, now);
        if written.answers_customer {
            next.clocks.first_responded_at = next.clocks.first_responded_at.or(Some(now));
        }
        written
    });
    if history.is_empty() && comment.is_none() {
        return Err(TicketError::NoChange);
    }
    if let Some(comment) = &comment {
        happenings.push(Happening::Commented {
            public: comment.comment.public,
        });
    }
    next.version = ticket.version + 1;
    next.updated_at = now;
    next.sla = next.clocks.view(now);
    let notifications = notifications::plan(db, actor, &next, &happenings).await?;
    let records: Vec<OutboxRecord> = events
        .iter()
        .map(|event| OutboxRecord::new(event, trace))
        .collect();
    let tenant = actor.tenant_id.as_uuid();
    let author = principal_json(actor);
    let updated = on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let result = sqlx::query(
            "update tickets set status = $1, priority = $2, assignee_id = $3, updated_at = $4, \
             version = version + 1, first_response_due_at = $8, resolution_due_at = $9, \
             resolved_at = $10, request_type = $11, fields = $12, customer_id = $13, \
             workflow_status = $14 \
             where tenant_id = $5 and id = $6 and version = $7",
        )
        .bind(next.status.as_str())
        .bind(next.priority.as_str())
        .bind(next.assignee_id)
        .bind(now)
        .bind(tenant)
        .bind(ticket.id)
        .bind(expected_version)
        .bind(next.clocks.first_response_due_at)
        .bind(next.clocks.resolution_due_at)
        .bind(next.clocks.resolved_at)
        .bind(&next.request_type)
        .bind(serde_json::to_string(&next.fields).unwrap_or_else(|_| "{}".into()))
        .bind(next.customer_id)
        .bind(&next.workflow_status)
        .execute(&mut *tx)
        .await?;
        if result.rows_affected() == 1 {
            for (field, old, new) in &history {
                sqlx::query(
                    "insert into ticket_history (id, tenant_id, ticket_id, actor, field, old_value, new_value, at) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(Uuid::now_v7())
                .bind(tenant)
                .bind(ticket.id)
                .bind(&author)
                .bind(*field)
                .bind(old)
                .bind(new)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            for record in &records {
                enqueue!(&mut *tx, record)?;
            }
            if let Some(comment) = &comment {
                write_comment!(&mut tx, tenant, ticket.id, comment);
            }
            notifications::deliver!(&mut tx, tenant, &next, &notifications, now);
            tx.commit().await?;
            true
        } else {
            tx.rollback().await?;
            false
        }
    });
    if !updated {
        let current = current_version(db, actor, ticket.id)
            .await?
            .ok_or(TicketError::NotFound)?;
        return Err(TicketError::VersionConflict { current });
    }
    Ok(next)
}

/// A comment ready to be written: the row, its event, and whether it is the center's answer to
/// the customer (which stops the first-response clock).
struct WrittenComment {
    comment: Comment,
    author: String,
    record: OutboxRecord,
    answers_customer: bool,
}

impl WrittenComment {
    fn new(
        actor: &Actor,
        trace: Option<&TraceContext>,
        ticket: &Ticket,
        body: String,
        public: bool,
        now: DateTime<Utc>,
    ) -> Self {
        let comment = Comment {
            id: Uuid::now_v7(),
            author: actor.principal.clone(),
            public,
            body,
            created_at: now,
            redacted_at: None,
            redaction_reason: None,
        };
        let author = match actor.principal {
            Principal::User(id) => agent(id).map_or(Author::System, Author::Agent),
            Principal::ApiToken(_) | Principal::System => Author::System,
        };
        let envelope = Envelope::new(
            actor.tenant_id,
            OccurredAt::from_datetime(now).unwrap_or_else(|_| OccurredAt::now()),
            TicketCommented {
                ticket_id: ticket_id(ticket.id),
                comment_id: CommentId::parse(comment.id.to_string())
                    .expect("a UUID is a valid comment id"),
                author,
                public,
                body_chars: u32::try_from(comment.body.chars().count()).unwrap_or(u32::MAX),
                project_id: ProjectId::parse(ticket.project_id.to_string()).ok(),
            },
        );
        Self {
            comment,
            author: principal_json(actor),
            record: OutboxRecord::new(&envelope, trace),
            answers_customer: public && actor.role != Role::Customer,
        }
    }
}

/// Writes a [`WrittenComment`] of ticket `$ticket` in tenant `$tenant` with the open
/// transaction `$tx`.
macro_rules! write_comment {
    ($tx:expr, $tenant:expr, $ticket:expr, $written:expr) => {{
        let tx = $tx;
        let written: &WrittenComment = $written;
        let comment = &written.comment;
        sqlx::query(
            "insert into ticket_comments (id, tenant_id, ticket_id, author, public, body, created_at) \
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(comment.id)
        .bind($tenant)
        .bind($ticket)
        .bind(&written.author)
        .bind(comment.public)
        .bind(&comment.body)
        .bind(comment.created_at)
        .execute(&mut **tx)
        .await?;
        if written.answers_customer {
            // The first public reply from the center stops the first-response clock.
            sqlx::query(
                "update tickets set first_responded_at = $1 \
                 where tenant_id = $2 and id = $3 and first_responded_at is null",
            )
            .bind(comment.created_at)
            .bind($tenant)
            .bind($ticket)
            .execute(&mut **tx)
            .await?;
        }
        enqueue!(&mut **tx, &written.record)?;
    }};
}
use write_comment;

async fn current_version(
    db: &Database,
    actor: &Actor,
    id: Uuid,
) -> Result<Option<i64>, sqlx::Error> {
    Ok(on_backend!(db, |pool| {
        sqlx::query_scalar("select version from tickets where tenant_id = $1 and id = $2")
            .bind(actor.tenant_id.as_uuid())
            .bind(id)
            .fetch_optional(pool)
            .await?
    }))
}

/// A comment on a ticket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Comment {
    /// Its id.
    pub id: Uuid,
    /// Who wrote it.
    #[schema(value_type = crate::openapi::PrincipalSchema)]
    pub author: Principal,
    /// Whether the customer can see it.
    pub public: bool,
    /// Its text; empty once redacted.
    pub body: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When its text was redacted; `null` unless it was.
    pub redacted_at: Option<DateTime<Utc>>,
    /// Why it was redacted.
    pub redaction_reason: Option<String>,
}

#[derive(sqlx::FromRow)]
struct CommentRow {
    id: Uuid,
    author: String,
    public: bool,
    body: String,
    redacted_at: Option<DateTime<Utc>>,
    redaction_reason: Option<String>,
    created_at: DateTime<Utc>,
}

/// Adds a comment to a ticket.
///
/// # Errors
/// Database errors.
pub async fn comment(
    db: &Database,
    actor: &Actor,
    trace: Option<&TraceContext>,
    ticket: &Ticket,
    body: String,
    public: bool,
) -> Result<Comment, TicketError> {
    let now = now();
    let written = WrittenComment::new(actor, trace, ticket, body, public, now);
    let notifications =
        notifications::plan(db, actor, ticket, &[Happening::Commented { public }]).await?;
    let tenant = actor.tenant_id.as_uuid();
    on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        write_comment!(&mut tx, tenant, ticket.id, &written);
        notifications::deliver!(&mut tx, tenant, ticket, &notifications, now);
        tx.commit().await?;
    });
    Ok(written.comment)
}

/// A ticket's comments, oldest first; internal ones only when `include_internal`.
///
/// # Errors
/// Database errors.
pub async fn comments(
    db: &Database,
    actor: &Actor,
    ticket: Uuid,
    include_internal: bool,
) -> Result<Vec<Comment>, sqlx::Error> {
    let rows: Vec<CommentRow> = on_backend!(db, |pool| {
        sqlx::query_as(
            "select id, author, public, body, created_at, redacted_at, redaction_reason \
             from ticket_comments where tenant_id = $1 and ticket_id = $2 and (public or $3) \
             order by id",
        )
        .bind(actor.tenant_id.as_uuid())
        .bind(ticket)
        .bind(include_internal)
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(|row| Comment {
            id: row.id,
            author: serde_json::from_str(&row.author).unwrap_or(Principal::System),
            public: row.public,
            body: row.body,
            created_at: row.created_at,
            redacted_at: row.redacted_at,
            redaction_reason: row.redaction_reason,
        })
        .collect())
}

/// One entry of a ticket's history.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct HistoryEntry {
    /// Its id.
    pub id: Uuid,
    /// What changed: `created`, `status`, `priority`, `assignee_id`, `customer_id`,
    /// `request_type`, `fields`, `attachment`, `task`, `time_spent`, or `operation` (the key of
    /// a project operation that was run, besides the changes it made).
    pub field: String,
    /// The value before; `null` once redacted.
    pub old_value: Option<String>,
    /// The value after; `null` once redacted.
    pub new_value: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// When its values were redacted; `null` unless they were.
    pub redacted_at: Option<DateTime<Utc>>,
    /// Why they were redacted.
    pub redaction_reason: Option<String>,
    /// Who, as JSON of the principal.
    #[serde(skip)]
    pub actor: String,
}

/// A ticket's history, oldest first.
///
/// # Errors
/// Database errors.
pub async fn history(
    db: &Database,
    actor: &Actor,
    ticket: Uuid,
) -> Result<Vec<HistoryEntry>, sqlx::Error> {
    Ok(on_backend!(db, |pool| {
        sqlx::query_as(
            "select id, field, old_value, new_value, at, actor, redacted_at, redaction_reason \
             from ticket_history where tenant_id = $1 and ticket_id = $2 order by id",
        )
        .bind(actor.tenant_id.as_uuid())
        .bind(ticket)
        .fetch_all(pool)
        .await?
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use TicketStatus::*;

    #[test]
    fn closed_tickets_only_reopen() {
        assert!(transition_allowed(Closed, Open));
        for to in [New, Pending, OnHold, Solved] {
            assert!(!transition_allowed(Closed, to), "{to:?}");
        }
    }

    #[test]
    fn nothing_goes_back_to_new_or_stays_put() {
        for from in [New, Open, Pending, OnHold, Solved, Closed] {
            assert!(!transition_allowed(from, New));
            assert!(!transition_allowed(from, from));
        }
        assert!(transition_allowed(New, Open));
        assert!(transition_allowed(Pending, Solved));
        assert!(transition_allowed(Solved, Closed));
    }
}
