//! `/api/v1/projects`: client engagements, and who works on them.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::NaiveDate;
use serde::Deserialize;
use tenet_events::Actor;
use tenet_events::identity::Principal;
use utoipa::ToSchema;
use uuid::Uuid;

use super::OpsState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, PathId, object};
use crate::projects::{self, Project, ProjectKey};
use crate::rbac::{Action, Scope, authorize};
use crate::sla::{self, Policy, PolicyDefinition, PolicyError, PriorityTargets, WeeklyHours};
use crate::users;

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

fn user_of(actor: &Actor) -> Option<Uuid> {
    match actor.principal {
        Principal::User(id) => Some(id),
        _ => None,
    }
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
    let project = projects::create(&state.db, actor.tenant_id, &key, name)
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

async fn visible_project(
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
    projects::add_member(&state.db, actor.tenant_id, project.id, body.user_id).await?;
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
        sla::put(&state.db, &actor, project.id, body.version, definition).await?,
    ))
}
