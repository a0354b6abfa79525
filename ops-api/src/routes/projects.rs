//! `/api/v1/projects`: client engagements, and who works on them.

use std::collections::{BTreeSet, HashMap};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::NaiveDate;
use serde::Deserialize;
use tenet_events::{Actor, TraceContext};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::query::known_params;
use super::tickets::{text, trace};
use super::{OpsState, user_of};
use crate::admin_events::Change;
use crate::client_view::{self, ClientView, MAX_HIDDEN_FIELDS};
use crate::constructor::{
    self, Field, FieldChange, FieldKind, NewField, RequestType, RequestTypeChange,
};
use crate::dictionaries::{self, Dictionary, DictionaryEntry};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ChildPath, PathId, object};
use crate::projects::{self, Project, ProjectKey};
use crate::rbac::{Action, Scope, authorize};
use crate::sla::{self, Policy, PolicyDefinition, PolicyError, PriorityTargets, WeeklyHours};
use crate::users;
use crate::workflows::{self, Workflow, WorkflowDefinition, WorkflowError};

/// A new project.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    /// A short key unique in the tenant: 2 to 16 upper-case letters, digits or `-`, starting
    /// with a letter.
    #[schema(pattern = "^[A-Z][A-Z0-9-]{1,15}$")]
    key: String,
    /// Its name: 1 to 200 characters after trimming.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    name: String,
}

/// Create a project
///
/// Only roles that manage projects tenant-wide may create one.
#[utoipa::path(
    post,
    path = "/api/v1/projects",
    tag = "projects",
    request_body = CreateProject,
    responses(
        (status = 201, description = "The project was created.", body = Project),
        (status = 409, description = "The key is taken in the tenant.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn create(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    ApiJson(body): ApiJson<CreateProject>,
) -> Result<(StatusCode, Json<Project>), ApiError> {
    if authorize(&actor, Action::ProjectManage)? != Scope::Tenant {
        return Err(ApiError::Forbidden(
            "only tenant-wide managers create projects".into(),
        ));
    }
    let key = ProjectKey::parse(&body.key)
        .map_err(|error| ApiError::invalid_field("key", error.to_string()))?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid_field(
            "name",
            "name must be 1 to 200 characters",
        ));
    }
    let project = projects::create(&state.db, Change::now(&actor, trace(&context)), &key, name)
        .await
        .map_err(|error| match ApiError::from(error) {
            ApiError::Conflict(_) => {
                ApiError::Conflict(format!("project key {} is taken", key.as_str()))
            }
            other => other,
        })?;
    Ok((StatusCode::CREATED, Json(project)))
}

/// List the projects the caller may see
#[utoipa::path(
    get,
    path = "/api/v1/projects",
    tag = "projects",
    responses((status = 200, description = "The projects, by key.", body = Vec<Project>)),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<Vec<Project>>, ApiError> {
    let scope = authorize(&actor, Action::ProjectRead)?;
    Ok(Json(
        projects::list(&state.db, actor.tenant_id, scope, user_of(&actor)).await?,
    ))
}

pub(super) async fn visible_project(
    state: &OpsState,
    actor: &Actor,
    action: Action,
    id: Uuid,
) -> Result<Project, ApiError> {
    let scope = authorize(actor, action)?;
    let project = projects::get(&state.db, actor.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such project".into()))?;
    let member = match user_of(actor) {
        Some(user) => projects::is_member(&state.db, actor.tenant_id, id, user).await?,
        None => false,
    };
    if scope == Scope::Tenant || member {
        Ok(project)
    } else {
        Err(ApiError::NotFound("no such project".into()))
    }
}

/// Read a project
#[utoipa::path(
    get,
    path = "/api/v1/projects/{id}",
    tag = "projects",
    params(("id" = uuid::Uuid, Path, description = "The project's id.")),
    responses(
        (status = 200, description = "The project.", body = Project),
        (status = 404, description = "No such project, or not one the caller may see.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn get(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<Json<Project>, ApiError> {
    Ok(Json(
        visible_project(&state, &actor, Action::ProjectRead, id).await?,
    ))
}

/// A user to add to a project.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    /// The user, of the same tenant.
    user_id: Uuid,
}

/// Add a member to a project
///
/// Adding a member twice is not an error.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{id}/members",
    tag = "projects",
    params(("id" = uuid::Uuid, Path, description = "The project's id.")),
    request_body = AddMember,
    responses(
        (status = 204, description = "The user is a member."),
        (status = 404, description = "No such project, or not one the caller may see.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn add_member(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<AddMember>,
) -> Result<StatusCode, ApiError> {
    let project = visible_project(&state, &actor, Action::ProjectManage, id).await?;
    if users::get(&state.db, actor.tenant_id, body.user_id)
        .await?
        .is_none()
    {
        return Err(ApiError::invalid_field(
            "user_id",
            "no such user in this tenant",
        ));
    }
    projects::add_member(
        &state.db,
        Change::now(&actor, trace(&context)),
        project.id,
        body.user_id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

impl From<PolicyError> for ApiError {
    fn from(error: PolicyError) -> Self {
        match error {
            PolicyError::VersionConflict { .. } => ApiError::Conflict(error.to_string()),
            PolicyError::Database(error) => ApiError::from(error),
        }
    }
}

/// Read a project's SLA policy
///
/// The version in effect: the targets per priority and the business calendar they are counted
/// in. Tickets show their own clocks under `sla`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{id}/sla",
    tag = "projects",
    params(("id" = uuid::Uuid, Path, description = "The project's id.")),
    responses(
        (status = 200, description = "The policy in effect.", body = Policy),
        (status = 404, description = "No such project, not one the caller may see, or no policy yet.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn sla_policy(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<Json<Policy>, ApiError> {
    let project = visible_project(&state, &actor, Action::ProjectRead, id).await?;
    sla::current(&state.db, &actor, project.id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("the project has no SLA policy yet".into()))
}

/// A new version of a project's SLA policy.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutPolicy {
    /// The version in effect that this one replaces; 0 for a project's first policy.
    #[schema(minimum = 0)]
    version: i64,
    /// The IANA time zone of the opening hours and holidays, e.g. `Europe/Moscow`.
    #[schema(min_length = 1, max_length = 64)]
    time_zone: String,
    /// Open around the clock (`business_hours` must then be empty).
    #[serde(default)]
    always_open: bool,
    /// The weekly opening hours.
    #[serde(default, deserialize_with = "object::required")]
    business_hours: WeeklyHours,
    /// Closed days (`YYYY-MM-DD`, local), up to 1,000.
    #[serde(default)]
    #[schema(max_items = 1000)]
    holidays: BTreeSet<NaiveDate>,
    /// The targets per priority.
    #[serde(deserialize_with = "object::required")]
    targets: PriorityTargets,
}

/// Set a project's SLA policy
///
/// Puts a new version in effect for tickets created from now on; existing tickets keep the
/// version and due times they were created with.
#[utoipa::path(
    put,
    path = "/api/v1/projects/{id}/sla",
    tag = "projects",
    params(("id" = uuid::Uuid, Path, description = "The project's id.")),
    request_body = PutPolicy,
    responses(
        (status = 200, description = "The new version, now in effect.", body = Policy),
        (status = 404, description = "No such project, or not one the caller may manage.", body = ErrorBody),
        (status = 409, description = "Someone put another version since `version`; reload and retry.", body = ErrorBody),
        (status = 422, description = "An invalid calendar or target; `details.field` names it.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn put_sla_policy(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<PutPolicy>,
) -> Result<Json<Policy>, ApiError> {
    let project = visible_project(&state, &actor, Action::ProjectManage, id).await?;
    let definition = PolicyDefinition {
        time_zone: body.time_zone,
        always_open: body.always_open,
        business_hours: body.business_hours,
        holidays: body.holidays,
        targets: body.targets,
    };
    if let Err((field, message)) = definition.calendar() {
        return Err(ApiError::invalid_field(field, message));
    }
    Ok(Json(
        sla::put(
            &state.db,
            &actor,
            trace(&context),
            project.id,
            body.version,
            definition,
        )
        .await?,
    ))
}

impl From<WorkflowError> for ApiError {
    fn from(error: WorkflowError) -> Self {
        match error {
            WorkflowError::VersionConflict { .. } => ApiError::Conflict(error.to_string()),
            WorkflowError::Invalid { field, message } => ApiError::invalid_field(field, message),
            WorkflowError::Database(error) => ApiError::from(error),
        }
    }
}

/// The query parameters of `GET /api/v1/projects/{id}/workflow`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct WorkflowQuery {
    /// This version rather than the one in effect: the version a ticket's
    /// `workflow_version` names (0: the built-in workflow).
    #[param(minimum = 0)]
    version: Option<i64>,
}

/// Read a project's ticket workflow
///
/// Its statuses, each in a lifecycle category, the status new tickets start in and the moves
/// allowed between them: the version in effect, or the version asked for. A project that has
/// none of its own follows the built-in workflow, version 0.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{id}/workflow",
    tag = "projects",
    params(("id" = uuid::Uuid, Path, description = "The project's id."), WorkflowQuery),
    responses(
        (status = 200, description = "The workflow.", body = Workflow),
        (status = 400, description = "The query string is malformed.", body = ErrorBody),
        (status = 404, description = "No such project, not one the caller may see, or no such version.", body = ErrorBody),
        (status = 422, description = "A parameter is unknown or invalid; `details.field` names it.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn workflow(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Workflow>, ApiError> {
    let params = known_params(query, &["version"])?;
    let version = params
        .get("version")
        .map(|value| {
            value
                .parse::<i64>()
                .ok()
                .filter(|version| *version >= 0)
                .ok_or_else(|| {
                    ApiError::invalid_field("version", "version must be a whole number, 0 or more")
                })
        })
        .transpose()?;
    let project = visible_project(&state, &actor, Action::ProjectRead, id).await?;
    match version {
        None => Ok(Json(
            workflows::current(&state.db, &actor, project.id).await?,
        )),
        Some(version) => workflows::version(&state.db, &actor, project.id, version)
            .await?
            .map(Json)
            .ok_or_else(|| {
                ApiError::NotFound(format!("the project has no workflow version {version}"))
            }),
    }
}

/// A new version of a project's ticket workflow.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutWorkflow {
    /// The version in effect that this one replaces; 0 while the project follows the
    /// built-in workflow.
    #[schema(minimum = 0)]
    version: i64,
    /// The statuses, in the order operators see them: 1 to 50, at least one of category
    /// closed.
    #[schema(min_items = 1, max_items = 50)]
    statuses: Vec<workflows::WorkflowStatus>,
    /// The status new tickets start in; its category is `new`.
    #[schema(min_length = 1, max_length = 40)]
    initial: String,
    /// The moves allowed, up to 500; every status must be reachable from `initial` and lead
    /// to a closed status.
    #[schema(max_items = 500)]
    transitions: Vec<workflows::Transition>,
}

/// Set a project's ticket workflow
///
/// Puts a new version in effect for tickets created from now on; existing tickets keep moving
/// along the version they were created under. A status key keeps its category from one
/// version to the next.
#[utoipa::path(
    put,
    path = "/api/v1/projects/{id}/workflow",
    tag = "projects",
    params(("id" = uuid::Uuid, Path, description = "The project's id.")),
    request_body = PutWorkflow,
    responses(
        (status = 200, description = "The new version, now in effect.", body = Workflow),
        (status = 404, description = "No such project, or not one the caller may manage.", body = ErrorBody),
        (status = 409, description = "Someone put another version since `version`; reload and retry.", body = ErrorBody),
        (status = 422, description = "An invalid workflow; `details.field` names the status or transition at fault.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn put_workflow(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<PutWorkflow>,
) -> Result<Json<Workflow>, ApiError> {
    let project = visible_project(&state, &actor, Action::ProjectManage, id).await?;
    let definition = WorkflowDefinition {
        statuses: body.statuses,
        initial: body.initial,
        transitions: body.transitions,
    };
    Ok(Json(
        workflows::put(
            &state.db,
            &actor,
            trace(&context),
            project.id,
            body.version,
            definition,
        )
        .await?,
    ))
}

fn key(value: &str) -> Result<String, ApiError> {
    if constructor::valid_key(value) {
        Ok(value.to_owned())
    } else {
        Err(ApiError::invalid_field(
            "key",
            "key must be 1 to 40 lower-case letters, digits or `_`, starting with a letter",
        ))
    }
}

pub(super) fn key_taken(error: sqlx::Error) -> ApiError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => ApiError::Invalid {
            status: StatusCode::CONFLICT,
            field: Some("key".into()),
            message: "the key is taken in this project".into(),
        },
        _ => error.into(),
    }
}

/// A new request type.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRequestType {
    /// Its key, unique in the project: 1 to 40 lower-case letters, digits or `_`.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,39}$")]
    key: String,
    /// Its name: 1 to 200 characters after trimming.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    name: String,
    /// Active users its new tickets are routed to when created without an assignee: the one
    /// with the fewest unfinished tickets, the first listed among equals (at most 50).
    #[serde(default)]
    #[schema(max_items = 50)]
    specialists: Vec<Uuid>,
}

/// The most specialists of one request type.
const MAX_SPECIALISTS: usize = 50;

/// Checks that `ids` are distinct active users of the tenant; errors name `specialists[i]`.
async fn checked_specialists(
    state: &OpsState,
    actor: &Actor,
    ids: Vec<Uuid>,
) -> Result<Vec<Uuid>, ApiError> {
    if ids.len() > MAX_SPECIALISTS {
        return Err(ApiError::invalid_field(
            "specialists",
            format!("a request type has at most {MAX_SPECIALISTS} specialists"),
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, id) in ids.iter().enumerate() {
        let field = format!("specialists[{i}]");
        if !seen.insert(*id) {
            return Err(ApiError::invalid_field(field, "the user is listed twice"));
        }
        match users::get(&state.db, actor.tenant_id, *id).await? {
            Some(user) if user.active => {}
            _ => {
                return Err(ApiError::invalid_field(
                    field,
                    format!("{id} is not an active user of this tenant"),
                ));
            }
        }
    }
    Ok(ids)
}

/// Add a request type to a project
#[utoipa::path(
    post,
    path = "/api/v1/projects/{id}/request-types",
    tag = "projects",
    params(("id" = uuid::Uuid, Path, description = "The project's id.")),
    request_body = NewRequestType,
    responses(
        (status = 201, description = "The request type was added.", body = RequestType),
        (status = 404, description = "No such project, or not one the caller may manage.", body = ErrorBody),
        (status = 409, description = "The key is taken in the project.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn add_request_type(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<NewRequestType>,
) -> Result<(StatusCode, Json<RequestType>), ApiError> {
    let project = visible_project(&state, &actor, Action::ProjectManage, id).await?;
    let key = key(&body.key)?;
    let name = text("name", &body.name, 1, 200)?;
    let specialists = checked_specialists(&state, &actor, body.specialists).await?;
    let created = constructor::add_request_type(
        &state.db,
        Change::now(&actor, trace(&context)),
        project.id,
        key,
        name,
        specialists,
    )
    .await
    .map_err(key_taken)?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// A change to a request type, based on the version the caller saw.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequestTypeBody {
    /// The request type's `version` the change is based on.
    version: i64,
    /// The new name.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    name: Option<String>,
    /// `false` retires the type (tickets keep it), `true` brings it back.
    #[serde(default)]
    active: Option<bool>,
    /// The new specialists, in order; `[]` stops routing.
    #[serde(default)]
    #[schema(max_items = 50)]
    specialists: Option<Vec<Uuid>>,
}

/// Change a request type
#[utoipa::path(
    patch,
    path = "/api/v1/projects/{id}/request-types/{type_id}",
    tag = "projects",
    params(
        ("id" = uuid::Uuid, Path, description = "The project's id."),
        ("type_id" = uuid::Uuid, Path, description = "The request type's id."),
    ),
    request_body = UpdateRequestTypeBody,
    responses(
        (status = 200, description = "The changed request type.", body = RequestType),
        (status = 404, description = "No such project or request type.", body = ErrorBody),
        (status = 409, description = "Someone changed the request type since `version`.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn update_request_type(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    path: ChildPath,
    ApiJson(body): ApiJson<UpdateRequestTypeBody>,
) -> Result<Json<RequestType>, ApiError> {
    let project = visible_project(&state, &actor, Action::ProjectManage, path.parent).await?;
    let current = constructor::request_types(&state.db, actor.tenant_id, project.id)
        .await?
        .into_iter()
        .find(|kind| kind.id == path.child)
        .ok_or_else(|| ApiError::NotFound("no such request type in this project".into()))?;
    let conflict = |version: i64| {
        ApiError::Conflict(format!(
            "the request type was changed by someone else (now at version {version}); reload it and retry"
        ))
    };
    if current.version != body.version {
        return Err(conflict(current.version));
    }
    let specialists = match body.specialists {
        Some(ids) => Some(checked_specialists(&state, &actor, ids).await?),
        None => None,
    };
    let change = RequestTypeChange {
        name: body
            .name
            .map(|name| text("name", &name, 1, 200))
            .transpose()?,
        active: body.active,
        specialists,
    };
    constructor::update_request_type(
        &state.db,
        Change::now(&actor, trace(&context)),
        project.id,
        current.id,
        body.version,
        change,
    )
    .await?
    .map(Json)
    .ok_or_else(|| conflict(current.version + 1))
}

/// List a project's request types
#[utoipa::path(
    get,
    path = "/api/v1/projects/{id}/request-types",
    tag = "projects",
    params(("id" = uuid::Uuid, Path, description = "The project's id.")),
    responses(
        (status = 200, description = "The request types, by key.", body = Vec<RequestType>),
        (status = 404, description = "No such project, or not one the caller may see.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn request_types(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<Json<Vec<RequestType>>, ApiError> {
    let project = visible_project(&state, &actor, Action::ProjectRead, id).await?;
    Ok(Json(
        constructor::request_types(&state.db, actor.tenant_id, project.id).await?,
    ))
}

/// A new custom field.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFieldBody {
    /// Its key, unique in the project: 1 to 40 lower-case letters, digits or `_`.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,39}$")]
    key: String,
    /// What operators see: 1 to 200 characters after trimming.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    label: String,
    /// What it holds.
    kind: FieldKind,
    /// Whether every new ticket must have it; `false` when left out.
    #[serde(default)]
    required: bool,
    /// The choices of a choice field that lists its own: 1 to 500 distinct texts; none for
    /// other kinds, or when `dictionary` is given.
    #[serde(default)]
    #[schema(max_items = 500)]
    choices: Vec<String>,
    /// The key of a project dictionary a choice field takes its choices from instead.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 40)]
    dictionary: Option<String>,
}

fn checked_choices(
    kind: FieldKind,
    choices: Vec<String>,
    adding: bool,
) -> Result<Vec<String>, ApiError> {
    if kind != FieldKind::Choice && !choices.is_empty() {
        return Err(ApiError::invalid_field(
            "choices",
            "only choice fields have choices",
        ));
    }
    if kind == FieldKind::Choice && choices.is_empty() && !adding {
        return Err(ApiError::invalid_field(
            "choices",
            "a choice field needs its choices",
        ));
    }
    if choices.len() > constructor::MAX_CHOICES {
        return Err(ApiError::invalid_field("choices", "at most 500 choices"));
    }
    let mut seen = Vec::with_capacity(choices.len());
    for (i, choice) in choices.iter().enumerate() {
        let choice = text(&format!("choices[{i}]"), choice, 1, 200)?;
        if seen.contains(&choice) {
            return Err(ApiError::invalid_field(
                format!("choices[{i}]"),
                "the choice is given twice",
            ));
        }
        seen.push(choice);
    }
    Ok(seen)
}

/// Add a custom field to a project
///
/// Its key and kind never change; later tickets carry values under the key.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{id}/fields",
    tag = "projects",
    params(("id" = uuid::Uuid, Path, description = "The project's id.")),
    request_body = NewFieldBody,
    responses(
        (status = 201, description = "The field was added.", body = Field),
        (status = 404, description = "No such project, or not one the caller may manage.", body = ErrorBody),
        (status = 409, description = "The key is taken in the project.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn add_field(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<NewFieldBody>,
) -> Result<(StatusCode, Json<Field>), ApiError> {
    let project = visible_project(&state, &actor, Action::ProjectManage, id).await?;
    let (choices, dictionary) = match body.dictionary {
        None => (checked_choices(body.kind, body.choices, false)?, None),
        Some(_) if body.kind != FieldKind::Choice => {
            return Err(ApiError::invalid_field(
                "dictionary",
                "only choice fields take their choices from a dictionary",
            ));
        }
        Some(_) if !body.choices.is_empty() => {
            return Err(ApiError::invalid_field(
                "choices",
                "a choice field lists its own choices or names a dictionary, not both",
            ));
        }
        Some(name) => {
            let dictionary = dictionaries::list(&state.db, actor.tenant_id, project.id)
                .await?
                .into_iter()
                .find(|dictionary| dictionary.key == name)
                .ok_or_else(|| {
                    ApiError::invalid_field(
                        "dictionary",
                        format!("the project has no dictionary `{name}`"),
                    )
                })?;
            let values = dictionary.active_values();
            (Vec::new(), Some((dictionary.key, values)))
        }
    };
    let new = NewField {
        key: key(&body.key)?,
        label: text("label", &body.label, 1, 200)?,
        kind: body.kind,
        required: body.required,
        choices,
        dictionary,
    };
    let field = constructor::add_field(
        &state.db,
        Change::now(&actor, trace(&context)),
        project.id,
        new,
    )
    .await
    .map_err(key_taken)?;
    Ok((StatusCode::CREATED, Json(field)))
}

/// List a project's custom fields
#[utoipa::path(
    get,
    path = "/api/v1/projects/{id}/fields",
    tag = "projects",
    params(("id" = uuid::Uuid, Path, description = "The project's id.")),
    responses(
        (status = 200, description = "The fields, active and retired, by key.", body = Vec<Field>),
        (status = 404, description = "No such project, or not one the caller may see.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn fields(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<Json<Vec<Field>>, ApiError> {
    let project = visible_project(&state, &actor, Action::ProjectRead, id).await?;
    Ok(Json(
        constructor::fields(&state.db, actor.tenant_id, project.id).await?,
    ))
}

/// A change to a custom field, based on the version the caller saw.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateFieldBody {
    /// The field's `version` the change is based on.
    version: i64,
    /// The new label.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    label: Option<String>,
    /// Required or not.
    #[serde(default)]
    required: Option<bool>,
    /// Choices to add to a choice field; existing ones stay.
    #[serde(default)]
    #[schema(max_items = 500)]
    add_choices: Vec<String>,
    /// `false` retires the field (tickets keep their values), `true` brings it back.
    #[serde(default)]
    active: Option<bool>,
}

/// Change a custom field
#[utoipa::path(
    patch,
    path = "/api/v1/projects/{id}/fields/{field_id}",
    tag = "projects",
    params(
        ("id" = uuid::Uuid, Path, description = "The project's id."),
        ("field_id" = uuid::Uuid, Path, description = "The field's id."),
    ),
    request_body = UpdateFieldBody,
    responses(
        (status = 200, description = "The changed field.", body = Field),
        (status = 404, description = "No such project or field.", body = ErrorBody),
        (status = 409, description = "Someone changed the field since `version`.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn update_field(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    path: ChildPath,
    ApiJson(body): ApiJson<UpdateFieldBody>,
) -> Result<Json<Field>, ApiError> {
    let project = visible_project(&state, &actor, Action::ProjectManage, path.parent).await?;
    let field = constructor::fields(&state.db, actor.tenant_id, project.id)
        .await?
        .into_iter()
        .find(|field| field.id == path.child)
        .ok_or_else(|| ApiError::NotFound("no such field in this project".into()))?;
    if field.version != body.version {
        return Err(ApiError::Conflict(format!(
            "the field was changed by someone else (now at version {}); reload it and retry",
            field.version
        )));
    }
    if let Some(dictionary) = &field.dictionary
        && !body.add_choices.is_empty()
    {
        return Err(ApiError::invalid_field(
            "add_choices",
            format!(
                "the field's choices are the entries of dictionary `{dictionary}`; add them there"
            ),
        ));
    }
    let mut add_choices = checked_choices(field.kind, body.add_choices, true)?;
    add_choices.retain(|choice| !field.choices.contains(choice));
    if field.choices.len() + add_choices.len() > constructor::MAX_CHOICES {
        return Err(ApiError::invalid_field(
            "add_choices",
            "a field has at most 500 choices",
        ));
    }
    let change = FieldChange {
        label: body
            .label
            .map(|label| text("label", &label, 1, 200))
            .transpose()?,
        required: body.required,
        add_choices,
        active: body.active,
    };
    constructor::update_field(
        &state.db,
        Change::now(&actor, trace(&context)),
        project.id,
        &field,
        body.version,
        change,
    )
    .await?
    .map(Json)
    .ok_or_else(|| {
        ApiError::Conflict("the field was changed by someone else; reload it and retry".into())
    })
}

/// A new dictionary.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDictionary {
    /// Its key, unique in the project: 1 to 40 lower-case letters, digits or `_`, starting with
    /// a letter.
    #[schema(min_length = 1, max_length = 40, pattern = "^[a-z][a-z0-9_]*$")]
    key: String,
    /// Its name: 1 to 200 characters after trimming.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    name: String,
    /// Its entries, in order: 1 to 500 distinct values.
    #[schema(min_items = 1, max_items = 500)]
    entries: Vec<DictionaryEntry>,
}

/// List a project's dictionaries
#[utoipa::path(
    get,
    path = "/api/v1/projects/{id}/dictionaries",
    tag = "projects",
    params(("id" = uuid::Uuid, Path, description = "The project's id.")),
    responses(
        (status = 200, description = "The dictionaries, by key.", body = Vec<Dictionary>),
        (status = 404, description = "No such project, or not one the caller may see.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn dictionaries(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<Json<Vec<Dictionary>>, ApiError> {
    let project = visible_project(&state, &actor, Action::ProjectRead, id).await?;
    Ok(Json(
        dictionaries::list(&state.db, actor.tenant_id, project.id).await?,
    ))
}

/// Add a dictionary to a project
///
/// A shared list of values that choice fields name as their `dictionary`.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{id}/dictionaries",
    tag = "projects",
    params(("id" = uuid::Uuid, Path, description = "The project's id.")),
    request_body = NewDictionary,
    responses(
        (status = 201, description = "The dictionary was added.", body = Dictionary),
        (status = 404, description = "No such project, or not one the caller may manage.", body = ErrorBody),
        (status = 409, description = "The key is taken in the project.", body = ErrorBody),
        (status = 422, description = "An invalid key, name or entry; `details.field` names it.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn add_dictionary(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<NewDictionary>,
) -> Result<(StatusCode, Json<Dictionary>), ApiError> {
    let project = visible_project(&state, &actor, Action::ProjectManage, id).await?;
    let key = key(&body.key)?;
    let name = text("name", &body.name, 1, 200)?;
    let entries = dictionaries::check_entries(body.entries, &[])
        .map_err(|(field, message)| ApiError::invalid_field(field, message))?;
    let dictionary = dictionaries::add(
        &state.db,
        Change::now(&actor, trace(&context)),
        project.id,
        key,
        name,
        entries,
    )
    .await
    .map_err(key_taken)?;
    Ok((StatusCode::CREATED, Json(dictionary)))
}

/// A change to a dictionary, based on the version the caller saw.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDictionary {
    /// The dictionary's `version` the change is based on.
    version: i64,
    /// The new name.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    name: Option<String>,
    /// All its entries, in order: every value it has keeps its place in the list (retire one
    /// with `"active": false`), new values are added.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 500)]
    entries: Option<Vec<DictionaryEntry>>,
}

/// Change a dictionary
///
/// Renames it, relabels, adds, retires or brings back entries. A value is never removed: tickets
/// may hold it.
#[utoipa::path(
    patch,
    path = "/api/v1/projects/{id}/dictionaries/{dictionary_id}",
    tag = "projects",
    params(
        ("id" = uuid::Uuid, Path, description = "The project's id."),
        ("dictionary_id" = uuid::Uuid, Path, description = "The dictionary's id."),
    ),
    request_body = UpdateDictionary,
    responses(
        (status = 200, description = "The changed dictionary.", body = Dictionary),
        (status = 404, description = "No such project or dictionary.", body = ErrorBody),
        (status = 409, description = "Someone changed the dictionary since `version`.", body = ErrorBody),
        (status = 422, description = "An invalid name or entry, or a value left out; `details.field` names it.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn update_dictionary(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    path: ChildPath,
    ApiJson(body): ApiJson<UpdateDictionary>,
) -> Result<Json<Dictionary>, ApiError> {
    let project = visible_project(&state, &actor, Action::ProjectManage, path.parent).await?;
    let dictionary = dictionaries::list(&state.db, actor.tenant_id, project.id)
        .await?
        .into_iter()
        .find(|dictionary| dictionary.id == path.child)
        .ok_or_else(|| ApiError::NotFound("no such dictionary in this project".into()))?;
    let stale = |current: i64| {
        ApiError::Conflict(format!(
            "the dictionary was changed by someone else (now at version {current}); reload it and retry"
        ))
    };
    if dictionary.version != body.version {
        return Err(stale(dictionary.version));
    }
    let name = match body.name {
        Some(name) => text("name", &name, 1, 200)?,
        None => dictionary.name.clone(),
    };
    let entries = match body.entries {
        Some(entries) => dictionaries::check_entries(entries, &dictionary.entries)
            .map_err(|(field, message)| ApiError::invalid_field(field, message))?,
        None => dictionary.entries.clone(),
    };
    dictionaries::update(
        &state.db,
        Change::now(&actor, trace(&context)),
        project.id,
        dictionary.id,
        body.version,
        &name,
        &entries,
    )
    .await?
    .map(Json)
    .ok_or_else(|| {
        ApiError::Conflict("the dictionary was changed by someone else; reload it and retry".into())
    })
}

/// Read what a project shows its clients
///
/// What the users of the client company (the customer role) see of the project's tickets and
/// statistics, beyond which they never see internal comments and attachments.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{id}/client-view",
    tag = "projects",
    params(("id" = uuid::Uuid, Path, description = "The project's id.")),
    responses(
        (status = 200, description = "What clients see; version 0 until the project sets it.", body = ClientView),
        (status = 404, description = "No such project, or not one the caller may see.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn client_view(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<Json<ClientView>, ApiError> {
    let project = visible_project(&state, &actor, Action::ProjectRead, id).await?;
    Ok(Json(
        client_view::get(&state.db, actor.tenant_id, project.id).await?,
    ))
}

/// What a project shows its clients, based on the version the caller saw.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutClientView {
    /// The view's `version` the change is based on; 0 while the project shows everything.
    #[schema(minimum = 0)]
    version: i64,
    /// Custom fields (by key) clients do not see, up to 200.
    #[schema(max_items = 200)]
    hidden_fields: Vec<String>,
    /// Whether clients see who works a ticket.
    assignee: bool,
    /// Whether clients see a ticket's SLA clocks.
    sla: bool,
    /// Whether clients read a ticket's history of changes.
    history: bool,
    /// Whether clients read and export the project's statistics.
    statistics: bool,
}

/// Set what a project shows its clients
#[utoipa::path(
    put,
    path = "/api/v1/projects/{id}/client-view",
    tag = "projects",
    params(("id" = uuid::Uuid, Path, description = "The project's id.")),
    request_body = PutClientView,
    responses(
        (status = 200, description = "What clients see from now on.", body = ClientView),
        (status = 404, description = "No such project, or not one the caller may manage.", body = ErrorBody),
        (status = 409, description = "Someone changed it since `version`; reload and retry.", body = ErrorBody),
        (status = 422, description = "An invalid field key; `details.field` names it.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn put_client_view(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<PutClientView>,
) -> Result<Json<ClientView>, ApiError> {
    let project = visible_project(&state, &actor, Action::ProjectManage, id).await?;
    if body.hidden_fields.len() > MAX_HIDDEN_FIELDS {
        return Err(ApiError::invalid_field(
            "hidden_fields",
            format!("at most {MAX_HIDDEN_FIELDS} fields"),
        ));
    }
    let mut hidden_fields: Vec<String> = Vec::with_capacity(body.hidden_fields.len());
    for (i, key) in body.hidden_fields.into_iter().enumerate() {
        if !constructor::valid_key(&key) {
            return Err(ApiError::invalid_field(
                format!("hidden_fields[{i}]"),
                "a field key is 1 to 40 lower-case letters, digits or `_`, starting with a letter",
            ));
        }
        if hidden_fields.contains(&key) {
            return Err(ApiError::invalid_field(
                format!("hidden_fields[{i}]"),
                format!("`{key}` is listed twice"),
            ));
        }
        hidden_fields.push(key);
    }
    let view = ClientView {
        hidden_fields,
        assignee: body.assignee,
        sla: body.sla,
        history: body.history,
        statistics: body.statistics,
        version: body.version,
        updated_at: None,
    };
    client_view::put(
        &state.db,
        Change::now(&actor, trace(&context)),
        project.id,
        body.version,
        &view,
    )
    .await?
    .map(Json)
    .ok_or_else(|| {
        ApiError::Conflict(
            "what clients see was changed by someone else; reload it and retry".into(),
        )
    })
}
