//! `/api/v1/tickets`: create, list, read and work tickets.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use tenet_events::identity::Principal;
use tenet_events::tickets::{Channel, TicketPriority, TicketStatus};
use tenet_events::{Actor, Role, TraceContext};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::OpsState;
use super::query::{known_params, limit, page, uuid};
use crate::client_view::{self, ClientView};
use crate::constructor;
use crate::customers::{self, CustomerError};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ChildPath, PathId, parse_json};
use crate::idempotency;
use crate::projects;
use crate::rbac::{Action, Scope, authorize};
use crate::redaction::{self, RedactionError};
use crate::tickets::{
    self, Comment, HistoryEntry, NewTicket, Ticket, TicketChange, TicketError, TicketFilter,
    Visibility,
};

/// The longest subject accepted.
const MAX_SUBJECT: usize = 300;
/// The longest description or comment accepted.
const MAX_TEXT: usize = 100_000;
/// The longest redaction reason accepted.
const MAX_REASON: usize = 500;

impl From<TicketError> for ApiError {
    fn from(error: TicketError) -> Self {
        match error {
            TicketError::NotFound => ApiError::NotFound("no such ticket".into()),
            TicketError::VersionConflict { .. } => ApiError::Conflict(error.to_string()),
            TicketError::InvalidTransition { field, .. } => {
                ApiError::invalid_field(field, error.to_string())
            }
            TicketError::UnknownAssignee(_) => {
                ApiError::invalid_field("assignee_id", error.to_string())
            }
            TicketError::NoChange => ApiError::invalid_field("body", error.to_string()),
            TicketError::Database(error) => ApiError::from(error),
        }
    }
}

pub(super) fn trace(context: &Option<Extension<TraceContext>>) -> Option<&TraceContext> {
    context.as_ref().map(|Extension(trace)| trace)
}

pub(super) fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, ApiError> {
    let trimmed = value.trim();
    let length = trimmed.chars().count();
    if length < min || length > max {
        return Err(ApiError::invalid_field(
            field,
            format!("{field} must be {min} to {max} characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// A new ticket.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicket {
    /// Its project, one the caller may see.
    project_id: Uuid,
    /// One line saying what it is about: 1 to 300 characters after trimming.
    #[schema(min_length = 1, max_length = 300, pattern = r"\S")]
    subject: String,
    /// The request in full, up to 100,000 characters.
    #[serde(default)]
    #[schema(max_length = 100_000)]
    description: String,
    /// The channel it came in through.
    #[schema(value_type = crate::openapi::ChannelSchema)]
    channel: Channel,
    /// How urgent it is; `normal` when left out.
    #[serde(default = "normal")]
    #[schema(value_type = crate::openapi::TicketPrioritySchema)]
    priority: TicketPriority,
    /// Who should work it: an active user of the tenant.
    #[serde(default)]
    assignee_id: Option<Uuid>,
    /// The customer who asked: a customer of the tenant (not one merged into another).
    #[serde(default)]
    customer_id: Option<Uuid>,
    /// Its request type: the key of one of the project's active request types.
    #[serde(default)]
    request_type: Option<String>,
    /// Custom field values by field key, checked against the project's fields; every required
    /// field must have one.
    #[serde(default)]
    #[schema(value_type = Object)]
    fields: BTreeMap<String, Value>,
}

/// Checks that `customer` is a current customer of the tenant, naming `customer_id` if not.
async fn current_customer(state: &OpsState, actor: &Actor, customer: Uuid) -> Result<(), ApiError> {
    customers::ensure_current(&state.db, actor.tenant_id, customer)
        .await
        .map_err(|error| match error {
            CustomerError::NotFound | CustomerError::Merged { .. } => {
                ApiError::invalid_field("customer_id", error.to_string())
            }
            other => other.into(),
        })
}

/// Checks a ticket's request type and field values against its project's configuration.
async fn configured(
    state: &OpsState,
    actor: &Actor,
    project: Uuid,
    request_type: Option<&str>,
    fields: &BTreeMap<String, Value>,
    creating: bool,
) -> Result<BTreeMap<String, Value>, ApiError> {
    // A change that touches neither has nothing to check: spare the reads.
    if !creating && request_type.is_none() && fields.is_empty() {
        return Ok(BTreeMap::new());
    }
    if let Some(kind) = request_type {
        let types = constructor::request_types(&state.db, actor.tenant_id, project).await?;
        if !types.iter().any(|known| known.key == kind && known.active) {
            return Err(ApiError::invalid_field(
                "request_type",
                format!("the project has no active request type `{kind}`"),
            ));
        }
    }
    let defined = constructor::fields(&state.db, actor.tenant_id, project).await?;
    if creating {
        constructor::check_values(&defined, fields, true)
    } else {
        constructor::check_change(&defined, fields)
    }
    .map_err(|(field, message)| ApiError::invalid_field(field, message))
}

fn normal() -> TicketPriority {
    TicketPriority::Normal
}

async fn project_visible(
    state: &OpsState,
    actor: &Actor,
    scope: Scope,
    project: Uuid,
) -> Result<bool, ApiError> {
    if projects::get(&state.db, actor.tenant_id, project)
        .await?
        .is_none()
    {
        return Ok(false);
    }
    Ok(match (scope, Visibility::of(actor, scope).user) {
        (Scope::Tenant, _) => true,
        (Scope::Projects, Some(user)) => {
            projects::is_member(&state.db, actor.tenant_id, project, user).await?
        }
        _ => false,
    })
}

/// Create a ticket
///
/// With an `Idempotency-Key` header, a retry of the same request answers the first result
/// again instead of creating a second ticket.
#[utoipa::path(
    post,
    path = "/api/v1/tickets",
    tag = "tickets",
    request_body = CreateTicket,
    params(
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[ \\t]*[!-~]([ -~]*[!-~])?[ \\t]*$",
         description = "1 to 200 visible ASCII characters (spaces inside allowed; surrounding whitespace is not part of it) naming this creation; reused only for the same body."),
    ),
    responses(
        (status = 201, description = "The ticket was created (or, for a repeated Idempotency-Key, had been).", body = Ticket),
        (status = 409, description = "A request with the same Idempotency-Key is still in progress.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn create(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let scope = authorize(&actor, Action::TicketCreate)?;
    let request: CreateTicket = parse_json(&headers, &body)?;
    let subject = text("subject", &request.subject, 1, MAX_SUBJECT)?;
    let description = text("description", &request.description, 0, MAX_TEXT)?;
    if !project_visible(&state, &actor, scope, request.project_id).await? {
        return Err(ApiError::invalid_field(
            "project_id",
            "no such project, or not one of yours",
        ));
    }
    let fields = configured(
        &state,
        &actor,
        request.project_id,
        request.request_type.as_deref(),
        &request.fields,
        true,
    )
    .await?;
    if let Some(customer) = request.customer_id {
        current_customer(&state, &actor, customer).await?;
    }
    let view = client_view_of(&state, &actor, request.project_id).await?;
    idempotency::create_once(&state.db, actor.tenant_id, &headers, &body, async || {
        tickets::create(
            &state.db,
            &actor,
            trace(&context),
            NewTicket {
                project_id: request.project_id,
                subject,
                description,
                channel: request.channel,
                priority: request.priority,
                assignee_id: request.assignee_id,
                customer_id: request.customer_id,
                request_type: request.request_type.clone(),
                fields: fields.clone(),
            },
        )
        .await
        .map(|ticket| match &view {
            Some(view) => view.apply(ticket),
            None => ticket,
        })
    })
    .await
}

/// What the caller's client company may see of `project`: `None` for the center's own staff,
/// who see everything.
async fn client_view_of(
    state: &OpsState,
    actor: &Actor,
    project: Uuid,
) -> Result<Option<ClientView>, ApiError> {
    if actor.role != Role::Customer {
        return Ok(None);
    }
    Ok(Some(
        client_view::get(&state.db, actor.tenant_id, project).await?,
    ))
}

/// `tickets` as the caller may see them: a client sees each as its project shows it.
async fn as_seen(
    state: &OpsState,
    actor: &Actor,
    tickets: Vec<Ticket>,
) -> Result<Vec<Ticket>, ApiError> {
    if actor.role != Role::Customer {
        return Ok(tickets);
    }
    let mut views: HashMap<Uuid, ClientView> = HashMap::new();
    let mut seen = Vec::with_capacity(tickets.len());
    for ticket in tickets {
        let view = match views.get(&ticket.project_id) {
            Some(view) => view.clone(),
            None => {
                let view = client_view::get(&state.db, actor.tenant_id, ticket.project_id).await?;
                views.insert(ticket.project_id, view.clone());
                view
            }
        };
        seen.push(view.apply(ticket));
    }
    Ok(seen)
}

/// One page of tickets.
#[derive(Serialize, ToSchema)]
#[schema(as = TicketPage)]
pub struct Page {
    /// The tickets, oldest first.
    items: Vec<Ticket>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<Uuid>,
}

/// The query parameters of `GET /api/v1/tickets`; the handler reads them by these names and
/// refuses any other.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListTickets {
    /// Only tickets of this project.
    project_id: Option<Uuid>,
    /// Only tickets of this customer.
    customer_id: Option<Uuid>,
    /// Only tickets whose subject or description contains this text, ignoring case.
    #[param(min_length = 1, max_length = 200)]
    q: Option<String>,
    /// Only tickets in this status.
    #[param(value_type = Option<crate::openapi::TicketStatusSchema>)]
    status: Option<TicketStatus>,
    /// Only tickets in this status of their project's workflow (a workflow status key).
    #[param(min_length = 1, max_length = 40)]
    workflow_status: Option<String>,
    /// Only tickets assigned to this user; `me` for the signed-in user.
    #[param(
        pattern = "^(me|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
    )]
    assignee: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<Uuid>,
    /// At most this many tickets, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// List tickets
///
/// The tickets the caller may see (their tenant, and within it their projects or
/// assignments as their role allows), oldest first, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/tickets",
    tag = "tickets",
    params(ListTickets),
    responses(
        (status = 200, description = "A page of tickets.", body = Page),
        (status = 400, description = "The query string is malformed.", body = ErrorBody),
        (status = 422, description = "A parameter is unknown or invalid; `details.field` names it.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Page>, ApiError> {
    let params = known_params(
        query,
        &[
            "project_id",
            "customer_id",
            "q",
            "status",
            "workflow_status",
            "assignee",
            "cursor",
            "limit",
        ],
    )?;
    let scope = authorize(&actor, Action::TicketRead)?;
    let visibility = Visibility::of(&actor, scope);
    let status = params
        .get("status")
        .map(|value| {
            serde_json::from_value::<TicketStatus>(serde_json::Value::String(value.clone()))
                .map_err(|_| {
                    ApiError::invalid_field(
                        "status",
                        "status must be new, open, pending, on_hold, solved or closed",
                    )
                })
        })
        .transpose()?;
    let assignee_id = match params.get("assignee").map(String::as_str) {
        None => None,
        Some("me") => Some(visibility.user.ok_or_else(|| {
            ApiError::invalid_field("assignee", "`me` needs a signed-in user, not an API token")
        })?),
        Some(_) => uuid(&params, "assignee")?,
    };
    let limit = limit(&params, 50, 200)?;
    let filter = TicketFilter {
        project_id: uuid(&params, "project_id")?,
        customer_id: uuid(&params, "customer_id")?,
        text: params
            .get("q")
            .map(|q| match text("q", q, 1, 200) {
                Ok(q) if q.chars().any(char::is_control) => Err(ApiError::invalid_field(
                    "q",
                    "q must not contain control characters",
                )),
                other => other,
            })
            .transpose()?,
        status,
        workflow_status: params
            .get("workflow_status")
            .map(|key| {
                if constructor::valid_key(key) {
                    Ok(key.clone())
                } else {
                    Err(ApiError::invalid_field(
                        "workflow_status",
                        "a workflow status is 1 to 40 lower-case letters, digits or `_`, starting with a letter",
                    ))
                }
            })
            .transpose()?,
        assignee_id,
        after: uuid(&params, "cursor")?,
        limit: limit + 1,
    };
    let mut items = tickets::list(&state.db, &actor, visibility, &filter).await?;
    let next_cursor = page(&mut items, limit, |ticket| ticket.id);
    let items = as_seen(&state, &actor, items).await?;
    Ok(Json(Page { items, next_cursor }))
}

pub(super) async fn visible(
    state: &OpsState,
    actor: &Actor,
    action: Action,
    id: Uuid,
) -> Result<Ticket, ApiError> {
    let scope = authorize(actor, action)?;
    tickets::get(&state.db, actor, Visibility::of(actor, scope), id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such ticket".into()))
}

/// Read a ticket
#[utoipa::path(
    get,
    path = "/api/v1/tickets/{id}",
    tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id.")),
    responses(
        (status = 200, description = "The ticket.", body = Ticket),
        (status = 404, description = "No such ticket, or not one the caller may see.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn get(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<Json<Ticket>, ApiError> {
    let ticket = visible(&state, &actor, Action::TicketRead, id).await?;
    Ok(Json(
        match client_view_of(&state, &actor, ticket.project_id).await? {
            Some(view) => view.apply(ticket),
            None => ticket,
        },
    ))
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<Uuid>>, D::Error> {
    Option::<Uuid>::deserialize(deserializer).map(Some)
}

/// A change to a ticket, based on the version the caller saw.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTicket {
    /// The ticket's `version` the change is based on.
    version: i64,
    /// The new lifecycle status: the ticket moves to the first status of that category, in
    /// workflow order, that its workflow allows from where it is.
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::TicketStatusSchema>)]
    status: Option<TicketStatus>,
    /// The new status of the ticket's workflow, by key, along an allowed transition; give
    /// this or `status`, not both.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 40)]
    workflow_status: Option<String>,
    /// The new priority.
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::TicketPrioritySchema>)]
    priority: Option<TicketPriority>,
    /// The new assignee, an active user of the tenant; `null` unassigns.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<uuid::Uuid>)]
    assignee_id: Option<Option<Uuid>>,
    /// The new request type: the key of one of the project's active request types.
    #[serde(default)]
    request_type: Option<String>,
    /// Field values to set by key; `null` clears an optional field.
    #[serde(default)]
    #[schema(value_type = Object)]
    fields: BTreeMap<String, Value>,
    /// The customer who asked, once the caller is identified; `null` unlinks.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<uuid::Uuid>)]
    customer_id: Option<Option<Uuid>>,
}

/// Change a ticket
///
/// Changes status, priority or assignee if the ticket is still at `version`; the history
/// records each change and an event describes it.
#[utoipa::path(
    patch,
    path = "/api/v1/tickets/{id}",
    tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id.")),
    request_body = UpdateTicket,
    responses(
        (status = 200, description = "The changed ticket.", body = Ticket),
        (status = 404, description = "No such ticket, or not one the caller may see.", body = ErrorBody),
        (status = 409, description = "Someone changed the ticket since `version`; reload and retry.", body = ErrorBody),
        (status = 422, description = "A move the ticket's workflow does not allow, an unknown assignee, or no change at all; `details.field` names it.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn update(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<UpdateTicket>,
) -> Result<Json<Ticket>, ApiError> {
    if body.status.is_some() && body.workflow_status.is_some() {
        return Err(ApiError::invalid_field(
            "workflow_status",
            "give `status` or `workflow_status`, not both",
        ));
    }
    let ticket = visible(&state, &actor, Action::TicketUpdate, id).await?;
    let fields = configured(
        &state,
        &actor,
        ticket.project_id,
        body.request_type.as_deref(),
        &body.fields,
        false,
    )
    .await?;
    if let Some(Some(customer)) = body.customer_id {
        current_customer(&state, &actor, customer).await?;
    }
    let change = TicketChange {
        status: body.status,
        workflow_status: body.workflow_status,
        priority: body.priority,
        assignee_id: body.assignee_id,
        request_type: body.request_type,
        fields,
        customer_id: body.customer_id,
        ..TicketChange::default()
    };
    Ok(Json(
        tickets::update(
            &state.db,
            &actor,
            trace(&context),
            &ticket,
            body.version,
            change,
        )
        .await?,
    ))
}

/// A new comment.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateComment {
    /// Its text: 1 to 100,000 characters after trimming.
    #[schema(min_length = 1, max_length = 100_000, pattern = r"\S")]
    body: String,
    /// Whether the customer sees it; internal by default, always public from a customer.
    #[serde(default)]
    public: Option<bool>,
}

/// Comment on a ticket
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{id}/comments",
    tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id.")),
    request_body = CreateComment,
    responses(
        (status = 201, description = "The comment was added.", body = Comment),
        (status = 404, description = "No such ticket, or not one the caller may see.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn comment(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    PathId(id): PathId,
    ApiJson(request): ApiJson<CreateComment>,
) -> Result<(StatusCode, Json<Comment>), ApiError> {
    let ticket = visible(&state, &actor, Action::TicketComment, id).await?;
    let body = text("body", &request.body, 1, MAX_TEXT)?;
    let public = match (actor.role, request.public) {
        (Role::Customer, Some(false)) => {
            return Err(ApiError::invalid_field(
                "public",
                "customers write public comments only",
            ));
        }
        (Role::Customer, _) => true,
        (_, public) => public.unwrap_or(false),
    };
    let comment =
        tickets::comment(&state.db, &actor, trace(&context), &ticket, body, public).await?;
    Ok((StatusCode::CREATED, Json(comment)))
}

/// List a ticket's comments
///
/// Oldest first; a customer sees only the public ones.
#[utoipa::path(
    get,
    path = "/api/v1/tickets/{id}/comments",
    tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id.")),
    responses(
        (status = 200, description = "The comments.", body = Vec<Comment>),
        (status = 404, description = "No such ticket, or not one the caller may see.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn comments(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<Json<Vec<Comment>>, ApiError> {
    let ticket = visible(&state, &actor, Action::TicketRead, id).await?;
    let internal = actor.role != Role::Customer;
    Ok(Json(
        tickets::comments(&state.db, &actor, ticket.id, internal).await?,
    ))
}

/// One change of a ticket and who made it.
#[derive(Serialize, ToSchema)]
#[schema(as = TicketHistoryEntry)]
pub struct HistoryView {
    #[serde(flatten)]
    entry: HistoryEntry,
    /// Who made the change.
    #[schema(value_type = crate::openapi::PrincipalSchema)]
    actor: Principal,
}

/// Read a ticket's history
///
/// Every change, oldest first: who changed which field from what to what, and when.
#[utoipa::path(
    get,
    path = "/api/v1/tickets/{id}/history",
    tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id.")),
    responses(
        (status = 200, description = "The history.", body = Vec<HistoryView>),
        (status = 403, description = "A client of a project that does not show them ticket history.", body = ErrorBody),
        (status = 404, description = "No such ticket, or not one the caller may see.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn history(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<Json<Vec<HistoryView>>, ApiError> {
    let ticket = visible(&state, &actor, Action::TicketRead, id).await?;
    let view = client_view_of(&state, &actor, ticket.project_id).await?;
    if view.as_ref().is_some_and(|view| !view.history) {
        return Err(ApiError::Forbidden(
            "this project does not show ticket history to its clients".into(),
        ));
    }
    let mut entries = tickets::history(&state.db, &actor, ticket.id).await?;
    if let Some(view) = view {
        let public_files: Vec<String> =
            crate::attachments::list(&state.db, &actor, ticket.id, false)
                .await?
                .into_iter()
                .map(|attachment| attachment.filename)
                .collect();
        entries.retain(|entry| view.shows(entry, &public_files));
    }
    Ok(Json(
        entries
            .into_iter()
            .map(|entry| HistoryView {
                actor: serde_json::from_str(&entry.actor).unwrap_or(Principal::System),
                entry,
            })
            .collect(),
    ))
}

impl From<RedactionError> for ApiError {
    fn from(error: RedactionError) -> Self {
        match error {
            RedactionError::NotFound(_) => ApiError::NotFound(error.to_string()),
            RedactionError::AlreadyRedacted(_) => ApiError::Conflict(error.to_string()),
            RedactionError::Database(error) => ApiError::from(error),
        }
    }
}

/// Why something is redacted.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Redact {
    /// Why: 1 to 500 characters after trimming; kept with the redaction and in the audit log.
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    reason: String,
}

/// Redact a history entry
///
/// Erases the entry's old and new values (a card number typed into a field, say); which field
/// changed, who changed it and when stay, with who redacted it, when and why. The audit log
/// records the redaction.
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{id}/history/{entry_id}/redact",
    tag = "tickets",
    params(
        ("id" = uuid::Uuid, Path, description = "The ticket's id."),
        ("entry_id" = uuid::Uuid, Path, description = "The history entry's id."),
    ),
    request_body = Redact,
    responses(
        (status = 204, description = "The values were erased."),
        (status = 404, description = "No such ticket or entry, or not one the caller may redact.", body = ErrorBody),
        (status = 409, description = "The entry was redacted already.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn redact_history(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    path: ChildPath,
    ApiJson(body): ApiJson<Redact>,
) -> Result<StatusCode, ApiError> {
    let ticket = visible(&state, &actor, Action::TicketRedact, path.parent).await?;
    let reason = text("reason", &body.reason, 1, MAX_REASON)?;
    redaction::history_entry(&state.db, &actor, ticket.id, path.child, &reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Redact a comment
///
/// Erases a comment's text; who wrote it and when stay, with who redacted it, when and why.
/// The audit log records the redaction.
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{id}/comments/{comment_id}/redact",
    tag = "tickets",
    params(
        ("id" = uuid::Uuid, Path, description = "The ticket's id."),
        ("comment_id" = uuid::Uuid, Path, description = "The comment's id."),
    ),
    request_body = Redact,
    responses(
        (status = 204, description = "The text was erased."),
        (status = 404, description = "No such ticket or comment, or not one the caller may redact.", body = ErrorBody),
        (status = 409, description = "The comment was redacted already.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn redact_comment(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    path: ChildPath,
    ApiJson(body): ApiJson<Redact>,
) -> Result<StatusCode, ApiError> {
    let ticket = visible(&state, &actor, Action::TicketRedact, path.parent).await?;
    let reason = text("reason", &body.reason, 1, MAX_REASON)?;
    redaction::comment(&state.db, &actor, ticket.id, path.child, &reason).await?;
    Ok(StatusCode::NO_CONTENT)
}
