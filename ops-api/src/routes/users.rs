//! `/api/v1/users`: the people of a tenant.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use secrecy::SecretString;
use serde::Deserialize;
use tenet_events::{Actor, Role, TraceContext};
use utoipa::ToSchema;

use super::OpsState;
use super::tickets::trace;
use crate::admin_events::Change;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, PathId};
use crate::rbac::{Action, authorize};
use crate::security_policy;
use crate::users::{self, Email, NewUser, User};

/// A new user of the tenant.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// The login e-mail, unique within the tenant (`local@domain.tld`, stored lower-case).
    #[schema(max_length = 254)]
    email: String,
    /// The name shown to others: 1 to 200 characters without control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    display_name: String,
    /// The user's role.
    #[schema(value_type = crate::openapi::RoleSchema)]
    role: Role,
    /// The initial password: 10 to 256 characters mixing letters with digits or symbols.
    #[schema(value_type = String, format = Password, min_length = 10, max_length = 256)]
    password: SecretString,
}

/// Create a user
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    request_body = CreateUser,
    responses(
        (status = 201, description = "The user was created.", body = User),
        (status = 409, description = "A user with this e-mail exists in the tenant.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn create(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
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
    let policy = security_policy::get(&state.db, actor.tenant_id, &state.auth).await?;
    let password = security_policy::check_password(&policy, body.password)
        .map_err(|message| ApiError::invalid_field("password", message))?;
    let user = users::create(
        &state.db,
        Change::now(&actor, trace(&context)),
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

/// List the users of the tenant
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    responses((status = 200, description = "The tenant's users, oldest first.", body = Vec<User>)),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<Vec<User>>, ApiError> {
    authorize(&actor, Action::UserRead)?;
    Ok(Json(users::list(&state.db, actor.tenant_id).await?))
}

/// Read a user
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = uuid::Uuid, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "The user.", body = User),
        (status = 404, description = "No such user in the tenant.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn get(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<Json<User>, ApiError> {
    authorize(&actor, Action::UserRead)?;
    users::get(&state.db, actor.tenant_id, id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("no such user".into()))
}
