//! `/api/v1/users`: the people of a tenant.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use secrecy::SecretString;
use serde::Deserialize;
use tenet_events::{Actor, Role};
use uuid::Uuid;

use super::OpsState;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::passwords::NewPassword;
use crate::rbac::{Action, authorize};
use crate::users::{self, Email, NewUser, User};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    email: String,
    display_name: String,
    role: Role,
    password: SecretString,
}

pub async fn create(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    authorize(&actor, Action::UserManage)?;
    let email = Email::parse(&body.email)
        .map_err(|error| ApiError::invalid_field("email", error.to_string()))?;
    let display_name = body.display_name.trim().to_owned();
    if display_name.is_empty()
        || display_name.chars().count() > 200
        || display_name.chars().any(char::is_control)
    {
        return Err(ApiError::invalid_field(
            "display_name",
            "display_name must be 1 to 200 characters without control characters",
        ));
    }
    let password = NewPassword::parse(body.password)
        .map_err(|error| ApiError::invalid_field("password", error.to_string()))?;
    let user = users::create(
        &state.db,
        actor.tenant_id,
        NewUser {
            email,
            display_name,
            role: body.role,
            password,
        },
    )
    .await
    .map_err(|error| match ApiError::from(error) {
        ApiError::Conflict(_) => {
            ApiError::Conflict("a user with this e-mail already exists in the tenant".into())
        }
        other => other,
    })?;
    Ok((StatusCode::CREATED, Json(user)))
}

pub async fn list(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<Vec<User>>, ApiError> {
    authorize(&actor, Action::UserRead)?;
    Ok(Json(users::list(&state.db, actor.tenant_id).await?))
}

pub async fn get(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<Uuid>,
) -> Result<Json<User>, ApiError> {
    authorize(&actor, Action::UserRead)?;
    users::get(&state.db, actor.tenant_id, id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("no such user".into()))
}
