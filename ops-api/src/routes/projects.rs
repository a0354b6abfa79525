//! `/api/v1/projects`: client engagements, and who works on them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use tenet_events::Actor;
use tenet_events::identity::Principal;
use uuid::Uuid;

use super::OpsState;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::projects::{self, Project, ProjectKey};
use crate::rbac::{Action, Scope, authorize};
use crate::users;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    key: String,
    name: String,
}

fn user_of(actor: &Actor) -> Option<Uuid> {
    match actor.principal {
        Principal::User(id) => Some(id),
        _ => None,
    }
}

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

pub async fn get(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<Uuid>,
) -> Result<Json<Project>, ApiError> {
    Ok(Json(
        visible_project(&state, &actor, Action::ProjectRead, id).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    user_id: Uuid,
}

pub async fn add_member(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<Uuid>,
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
