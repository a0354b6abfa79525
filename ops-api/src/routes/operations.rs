//! `/api/v1/projects/{id}/operations` and `/api/v1/tickets/{id}/operations`: the project
//! constructor's operations, and running them on tickets.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::Value;
use tenet_events::identity::Principal;
use tenet_events::{Actor, TraceContext};
use utoipa::ToSchema;
use uuid::Uuid;

use super::OpsState;
use super::projects::{key_taken, visible_project};
use super::tickets::{text, trace, visible};
use crate::admin_events::Change;
use crate::constructor::{self, MAX_TEXT, valid_key};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ChildPath, PathId};
use crate::operations::{self, AssignTo, Operation, OperationDefinition};
use crate::rbac::Action;
use crate::tickets::{self, Ticket, TicketChange};
use crate::workflows;

/// A new operation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOperation {
    /// Its key, unique in the project: 1 to 40 lower-case letters, digits or `_`, starting with a
    /// letter.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,39}$")]
    key: String,
    /// What it is and does.
    definition: OperationDefinition,
}

async fn checked(
    state: &OpsState,
    actor: &Actor,
    project: Uuid,
    definition: OperationDefinition,
) -> Result<OperationDefinition, ApiError> {
    let workflow = workflows::current(&state.db, actor, project).await?;
    let fields = constructor::fields(&state.db, actor.tenant_id, project).await?;
    definition
        .check(&workflow, &fields)
        .map_err(|(field, message)| ApiError::invalid_field(field, message))
}

/// Add an operation to a project
///
/// An operation is a named action operators run on a ticket in one step: move it along the
/// workflow, set its priority, assign it, set fields, write a comment. Its statuses and fields
/// are checked against the project's current workflow and fields.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{id}/operations",
    tag = "projects",
    params(("id" = uuid::Uuid, Path, description = "The project's id.")),
    request_body = CreateOperation,
    responses(
        (status = 201, description = "The operation was added.", body = Operation),
        (status = 404, description = "No such project.", body = ErrorBody),
        (status = 409, description = "The key is taken in the project.", body = ErrorBody),
        (status = 422, description = "An invalid key, name, status, field value or comment, or an operation that does nothing; `details.field` names it.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn add(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<CreateOperation>,
) -> Result<(StatusCode, Json<Operation>), ApiError> {
    let project = visible_project(&state, &actor, Action::ProjectManage, id).await?;
    if !valid_key(&body.key) {
        return Err(ApiError::invalid_field(
            "key",
            "key must be 1 to 40 lower-case letters, digits or `_`, starting with a letter",
        ));
    }
    let definition = checked(&state, &actor, project.id, body.definition).await?;
    let operation = operations::add(
        &state.db,
        Change::now(&actor, trace(&context)),
        project.id,
        body.key,
        definition,
    )
    .await
    .map_err(key_taken)?;
    Ok((StatusCode::CREATED, Json(operation)))
}

/// List a project's operations
#[utoipa::path(
    get,
    path = "/api/v1/projects/{id}/operations",
    tag = "projects",
    params(("id" = uuid::Uuid, Path, description = "The project's id.")),
    responses(
        (status = 200, description = "The project's operations by key, retired ones included.", body = Vec<Operation>),
        (status = 404, description = "No such project.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<Json<Vec<Operation>>, ApiError> {
    let project = visible_project(&state, &actor, Action::ProjectRead, id).await?;
    Ok(Json(
        operations::list(&state.db, actor.tenant_id, project.id).await?,
    ))
}

/// A change to an operation, based on the version the caller saw.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOperation {
    /// The operation's `version` the change is based on.
    version: i64,
    /// Its whole new definition; the current one when left out.
    #[serde(default)]
    definition: Option<OperationDefinition>,
    /// Retire (`false`) or bring back (`true`).
    #[serde(default)]
    active: Option<bool>,
}

/// Change an operation
///
/// Replaces what it does, retires it or brings it back. Its key never changes.
#[utoipa::path(
    patch,
    path = "/api/v1/projects/{id}/operations/{operation_id}",
    tag = "projects",
    params(
        ("id" = uuid::Uuid, Path, description = "The project's id."),
        ("operation_id" = uuid::Uuid, Path, description = "The operation's id."),
    ),
    request_body = UpdateOperation,
    responses(
        (status = 200, description = "The changed operation.", body = Operation),
        (status = 404, description = "No such project or operation.", body = ErrorBody),
        (status = 409, description = "Someone changed the operation since `version`.", body = ErrorBody),
        (status = 422, description = "An invalid definition, or no change; `details.field` names it.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn update(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    path: ChildPath,
    ApiJson(body): ApiJson<UpdateOperation>,
) -> Result<Json<Operation>, ApiError> {
    let project = visible_project(&state, &actor, Action::ProjectManage, path.parent).await?;
    let operation = operations::list(&state.db, actor.tenant_id, project.id)
        .await?
        .into_iter()
        .find(|operation| operation.id == path.child)
        .ok_or_else(|| ApiError::NotFound("no such operation in this project".into()))?;
    let stale = || {
        ApiError::Conflict(
            "the operation was changed by someone else; reload it and retry".to_owned(),
        )
    };
    if operation.version != body.version {
        return Err(stale());
    }
    if body.definition.is_none() && body.active.is_none() {
        return Err(ApiError::invalid_field(
            "definition",
            "give a new `definition`, `active`, or both",
        ));
    }
    let definition = match body.definition {
        Some(definition) => checked(&state, &actor, project.id, definition).await?,
        None => operation.definition.clone(),
    };
    let active = body.active.unwrap_or(operation.active);
    operations::update(
        &state.db,
        Change::now(&actor, trace(&context)),
        project.id,
        &operation,
        definition,
        active,
    )
    .await?
    .map(Json)
    .ok_or_else(stale)
}

/// List the operations offered for a ticket
///
/// The project's active operations that may run on the ticket in its current status.
#[utoipa::path(
    get,
    path = "/api/v1/tickets/{id}/operations",
    tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id.")),
    responses(
        (status = 200, description = "The operations offered now, by key.", body = Vec<Operation>),
        (status = 404, description = "No such ticket, or not one the caller may see.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn offered(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<Json<Vec<Operation>>, ApiError> {
    let ticket = visible(&state, &actor, Action::TicketRead, id).await?;
    let offered = operations::list(&state.db, actor.tenant_id, ticket.project_id)
        .await?
        .into_iter()
        .filter(|operation| operation.offered_for(&ticket))
        .collect();
    Ok(Json(offered))
}

/// A run of an operation on a ticket, based on the ticket version the caller saw.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunOperation {
    /// The ticket's `version` the run is based on.
    version: i64,
    /// The operator's note, written as a comment after the operation's own: 1 to 10,000
    /// characters after trimming. Required when the operation says so.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 10_000, pattern = r"\S")]
    note: Option<String>,
}

/// The `{id}` and `{key}` of `/tickets/{id}/operations/{key}`.
pub struct TicketOperationPath {
    ticket: Uuid,
    key: String,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for TicketOperationPath {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let path: Result<Path<(String, String)>, PathRejection> =
            Path::from_request_parts(parts, state).await;
        let Path((id, key)) = path.map_err(|rejection| ApiError::Invalid {
            status: StatusCode::BAD_REQUEST,
            message: rejection.body_text(),
            field: None,
        })?;
        let ticket = Uuid::parse_str(&id).map_err(|_| ApiError::Invalid {
            status: StatusCode::BAD_REQUEST,
            message: "id must be a UUID".into(),
            field: Some("id".into()),
        })?;
        Ok(Self { ticket, key })
    }
}

/// Run an operation on a ticket
///
/// Does everything the operation does in one step, if the ticket is still at `version`: one
/// new ticket version, its history (which records the operation) and events. Nothing is done
/// when any part is refused.
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{id}/operations/{key}",
    tag = "tickets",
    params(
        ("id" = uuid::Uuid, Path, description = "The ticket's id."),
        ("key" = String, Path, description = "The operation's key."),
    ),
    request_body = RunOperation,
    responses(
        (status = 200, description = "The ticket after the operation.", body = Ticket),
        (status = 404, description = "No such ticket or operation.", body = ErrorBody),
        (status = 409, description = "Someone changed the ticket since `version`, the operation is retired or not offered in the ticket's status, or its request type has no specialists.", body = ErrorBody),
        (status = 422, description = "A missing note, a move the ticket's workflow does not allow, or field values the project no longer takes; `details.field` names it.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn run(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    path: TicketOperationPath,
    ApiJson(body): ApiJson<RunOperation>,
) -> Result<Json<Ticket>, ApiError> {
    let ticket = visible(&state, &actor, Action::TicketUpdate, path.ticket).await?;
    let operation = operations::by_key(&state.db, actor.tenant_id, ticket.project_id, &path.key)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "the ticket's project has no operation `{}`",
                path.key
            ))
        })?;
    if !operation.active {
        return Err(ApiError::Conflict(format!(
            "operation `{}` is retired",
            operation.key
        )));
    }
    if !operation.offered_for(&ticket) {
        return Err(ApiError::Conflict(format!(
            "operation `{}` is not offered while the ticket is `{}`",
            operation.key, ticket.workflow_status
        )));
    }
    let note = body
        .note
        .map(|note| text("note", &note, 1, MAX_TEXT))
        .transpose()?;
    let definition = &operation.definition;
    if definition.note_required && note.is_none() {
        return Err(ApiError::invalid_field(
            "note",
            format!("operation `{}` needs a note", operation.key),
        ));
    }
    let change = TicketChange {
        workflow_status: definition.to_status.clone(),
        priority: definition.priority,
        assignee_id: assignee(&state, &actor, &ticket, definition.assign).await?,
        fields: field_values(&state, &actor, &ticket, definition).await?,
        comment: definition.comment_with(note),
        operation: Some(operation.key.clone()),
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

/// Whom the run assigns the ticket to.
async fn assignee(
    state: &OpsState,
    actor: &Actor,
    ticket: &Ticket,
    assign: Option<AssignTo>,
) -> Result<Option<Option<Uuid>>, ApiError> {
    Ok(match assign {
        None => None,
        Some(AssignTo::Nobody) => Some(None),
        Some(AssignTo::Me) => match actor.principal {
            Principal::User(user) => Some(Some(user)),
            Principal::ApiToken(_) | Principal::System => {
                return Err(ApiError::Conflict(
                    "this operation assigns the ticket to whoever runs it: run it as a signed-in user"
                        .into(),
                ));
            }
        },
        Some(AssignTo::Specialists) => {
            let Some(kind) = &ticket.request_type else {
                return Err(ApiError::Conflict(
                    "this operation routes the ticket to the specialists of its request type, and the ticket has none"
                        .into(),
                ));
            };
            let routed =
                constructor::route(&state.db, actor.tenant_id, ticket.project_id, kind).await?;
            let Some(specialist) = routed else {
                return Err(ApiError::Conflict(format!(
                    "request type `{kind}` has no specialists to route the ticket to"
                )));
            };
            Some(Some(specialist))
        }
    })
}

/// The field values the run sets, checked against the project's fields as they are now.
async fn field_values(
    state: &OpsState,
    actor: &Actor,
    ticket: &Ticket,
    definition: &OperationDefinition,
) -> Result<std::collections::BTreeMap<String, Value>, ApiError> {
    if definition.fields.is_empty() {
        return Ok(std::collections::BTreeMap::new());
    }
    let fields = constructor::fields(&state.db, actor.tenant_id, ticket.project_id).await?;
    constructor::check_change(&fields, &definition.fields)
        .map_err(|(field, message)| ApiError::invalid_field(field, message))
}
